import { InvalidIdentifierError } from '../errors/usage-errors.js';

/** Identifiers accepted by {@link quoteIdentifier}: 1-63 chars, letter or `_` first, then letters, digits, `_`, `$`. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/**
 * Validates `name` against {@link IDENTIFIER_PATTERN} and returns it double-quoted.
 * Everything that could change the statement's meaning (quotes, dots, spaces,
 * NUL, over-long names) is rejected rather than escaped.
 *
 * @throws {@link InvalidIdentifierError}
 * @example
 * ```ts
 * quoteIdentifier('notify');        // '"notify"'
 * quoteIdentifier('x"; drop ...');  // throws InvalidIdentifierError
 * ```
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidIdentifierError('empty');
  if (name.length > 63) throw new InvalidIdentifierError('longer than 63 characters');
  if (!IDENTIFIER_PATTERN.test(name)) {
    throw new InvalidIdentifierError('only letters, digits, "_" and "$" are allowed, starting with a letter or "_"');
  }
  return `"${name}"`;
}

/**
 * Quotes a possibly schema-qualified name given as parts.
 *
 * @example
 * ```ts
 * quoteQualifiedName('notify', 'channels'); // '"notify"."channels"'
 * ```
 */
export function quoteQualifiedName(...parts: Array<string | undefined>): string {
  return parts.filter((p): p is string => p !== undefined).map(quoteIdentifier).join('.');
}
