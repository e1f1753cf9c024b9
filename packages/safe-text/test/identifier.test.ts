import { describe, expect, it } from 'vitest';
import { IDENTIFIER_PATTERN, InvalidIdentifierError, identifierProblem, quoteIdentifier, quoteQualifiedName } from '../src/index.js';

describe('quoteIdentifier', () => {
  it.each(['notify', '_x', 'a1', 'fx_c_1a2b_3c_d4e5_1', 'with$dollar', 'A'.repeat(63)])('quotes %s', (name) => {
    expect(quoteIdentifier(name)).toBe(`"${name}"`);
    expect(identifierProblem(name)).toBeUndefined();
    expect(IDENTIFIER_PATTERN.test(name)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['A'.repeat(64), 'longer than 63 characters'],
    ['a"b', 'only letters'],
    ['x"; drop table t; --', 'only letters'],
    ['a.b', 'only letters'],
    ['has space', 'only letters'],
    ['nul\0', 'only letters'],
    ['1abc', 'only letters'],
    ['$x', 'only letters'],
    ['über', 'only letters'],
  ])('rejects %j (%s) without echoing it', (name, reason) => {
    expect(() => quoteIdentifier(name)).toThrow(InvalidIdentifierError);
    expect(() => quoteIdentifier(name)).toThrow(reason);
    try {
      quoteIdentifier(name);
    } catch (e) {
      expect((e as InvalidIdentifierError).code).toBe('INVALID_IDENTIFIER');
      if (name.length > 2) expect((e as Error).message).not.toContain(name);
    }
  });

  it('rejects non-strings', () => {
    expect(identifierProblem(undefined)).toBe('empty');
    expect(identifierProblem(42)).toBe('empty');
  });
});

describe('quoteQualifiedName', () => {
  it('joins quoted parts and skips undefined ones', () => {
    expect(quoteQualifiedName('notify', 'channels')).toBe('"notify"."channels"');
    expect(quoteQualifiedName(undefined, 'channels')).toBe('"channels"');
  });

  it('validates every part', () => {
    expect(() => quoteQualifiedName('ok', 'bad"name')).toThrow(InvalidIdentifierError);
  });
});
