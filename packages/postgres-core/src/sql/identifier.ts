import * as safeText from '@stellaops/safe-text';
import { InvalidIdentifierError } from '../errors/usage-errors.js';

/**
 * Identifiers {@link quoteIdentifier} accepts: the repository's one identifier
 * rule, `@stellaops/safe-text`'s `IDENTIFIER_PATTERN` (1-63 characters, a
 * letter or `_` first, then letters, digits, `_` and `$`).
 */
export const IDENTIFIER_PATTERN: RegExp = safeText.IDENTIFIER_PATTERN;

/**
 * Validates `name` by the repository's one identifier rule
 * ({@link IDENTIFIER_PATTERN}) and returns it double-quoted: `@stellaops/safe-text`'s
 * `quoteIdentifier`, throwing postgres-core's own {@link InvalidIdentifierError}
 * (same reason) so callers catch one error family. Everything that could
 * change the statement's meaning (quotes, dots, spaces, NUL, over-long names)
 * is rejected rather than escaped.
 *
 * @throws {@link InvalidIdentifierError}
 * @example
 * ```ts
 * quoteIdentifier('notify');        // '"notify"'
 * quoteIdentifier('x"; drop ...');  // throws InvalidIdentifierError
 * ```
 */
export function quoteIdentifier(name: string): string {
  return withCoreError(() => safeText.quoteIdentifier(name));
}

/**
 * Quotes a possibly schema-qualified name given as parts (`undefined` parts are
 * left out): `@stellaops/safe-text`'s `quoteQualifiedName` with postgres-core's
 * {@link InvalidIdentifierError}.
 *
 * @throws {@link InvalidIdentifierError}
 * @example
 * ```ts
 * quoteQualifiedName('notify', 'channels'); // '"notify"."channels"'
 * ```
 */
export function quoteQualifiedName(...parts: Array<string | undefined>): string {
  return withCoreError(() => safeText.quoteQualifiedName(...parts));
}

/** Runs `quote`, turning safe-text's identifier error into postgres-core's (same reason; the name is never echoed). */
function withCoreError(quote: () => string): string {
  try {
    return quote();
  } catch (e) {
    if (e instanceof safeText.InvalidIdentifierError) throw new InvalidIdentifierError(e.reason);
    throw e;
  }
}
