import { describe, expect, it } from 'vitest';
import { templateNameOf } from '../src/index.js';
import { HOST_TAG, keptName, newNonce, nextCloneName, ownerOf, runTagFor, slug } from '../src/template/names.js';

describe('database names', () => {
  it('templates are named by set name and content hash', () => {
    const a = templateNameOf({ name: 'Authority Module', hash: 'h1', migrate: async () => undefined });
    const b = templateNameOf({ name: 'Authority Module', hash: 'h2', migrate: async () => undefined });
    expect(a.name).toMatch(/^fx_t_authority_module_[0-9a-f]{16}$/);
    expect(a.name).not.toBe(b.name);
    expect(a.name.length).toBeLessThanOrEqual(63);
  });

  it('without a hash, the migrate function text decides', () => {
    const a = templateNameOf({ name: 'x', migrate: async () => void 'one' });
    const b = templateNameOf({ name: 'x', migrate: async () => void 'two' });
    expect(a.name).not.toBe(b.name);
  });

  it('clone names carry the owning run and round-trip through ownerOf', () => {
    const tag = runTagFor(123456, 'ab12');
    const c1 = nextCloneName(tag);
    const c2 = nextCloneName(tag);
    expect(c1).not.toBe(c2);
    expect(ownerOf(c1)).toEqual({ host: HOST_TAG, pid: 123456, runTag: tag });
    expect(c1.length).toBeLessThanOrEqual(63);
  });

  it('kept clones and templates have no owner, so sweeps never drop them', () => {
    expect(ownerOf(keptName(nextCloneName(runTagFor(1, 'zz00'))))).toBeUndefined();
    expect(ownerOf('fx_t_authority_0123456789abcdef')).toBeUndefined();
    expect(ownerOf('postgres')).toBeUndefined();
  });

  it('two servers in one process get different run tags', () => {
    expect(runTagFor(42, newNonce())).toMatch(/^[0-9a-f]{4}_16_[0-9a-z]{4}$/);
    expect(new Set(Array.from({ length: 20 }, () => newNonce())).size).toBeGreaterThan(1);
  });

  it('slug keeps only safe characters', () => {
    expect(slug('a"; drop database x; --', 40)).toBe('a_drop_database_x');
  });
});
