import { describe, expect, it } from 'vitest';
import { qualifiedColumns } from '../src/index.js';

describe('qualifiedColumns', () => {
  it('prefixes every column with the alias, in order', () => {
    expect(qualifiedColumns('r', ['tenant_id', 'id', 'name'] as const)).toEqual(['r.tenant_id', 'r.id', 'r.name']);
    expect(qualifiedColumns('x', [])).toEqual([]);
  });
});
