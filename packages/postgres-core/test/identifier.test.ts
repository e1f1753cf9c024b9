import * as safeText from '@stellaops/safe-text';
import { describe, expect, it } from 'vitest';
import { IDENTIFIER_PATTERN, InvalidIdentifierError, PostgresCoreError, quoteIdentifier, quoteQualifiedName } from '../src/index.js';

describe('identifiers (delegated to @stellaops/safe-text)', () => {
  it("uses safe-text's rule and throws postgres-core's error with safe-text's reason", () => {
    expect(IDENTIFIER_PATTERN).toBe(safeText.IDENTIFIER_PATTERN);
    expect(quoteIdentifier('notify')).toBe('"notify"');
    expect(quoteQualifiedName('notify', undefined, 'channels')).toBe('"notify"."channels"');
    for (const bad of ['', 'x"; drop table t; --', 'a.b', 'a'.repeat(64)]) {
      const err = (() => {
        try {
          quoteIdentifier(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(InvalidIdentifierError);
      expect(err).toBeInstanceOf(PostgresCoreError);
      expect(err).toMatchObject({ code: 'INVALID_IDENTIFIER', message: `Invalid SQL identifier: ${safeText.identifierProblem(bad)}` });
      if (bad) expect((err as Error).message).not.toContain(bad);
    }
    expect(() => quoteQualifiedName('ok', 'not ok')).toThrow(InvalidIdentifierError);
  });
});
