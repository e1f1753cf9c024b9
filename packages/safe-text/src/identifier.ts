/**
 * Identifiers {@link quoteIdentifier} accepts: 1-63 characters, a letter or `_`
 * first, then letters, digits, `_` and `$`. This is the one rule of the
 * repository for schema, table, column, role and database names.
 */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/**
 * Why `name` is not an identifier {@link quoteIdentifier} accepts, or
 * `undefined` when it is. The reason never echoes the name. Packages with their
 * own error classes use this to throw them.
 *
 * @example
 * ```ts
 * identifierProblem('notify');   // undefined
 * identifierProblem('a"b');      // 'only letters, digits, "_" and "$" are allowed, starting with a letter or "_"'
 * ```
 */
export function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'empty';
  if (name.length > 63) return 'longer than 63 characters';
  if (!IDENTIFIER_PATTERN.test(name)) return 'only letters, digits, "_" and "$" are allowed, starting with a letter or "_"';
  return undefined;
}

/**
 * An SQL identifier was rejected by {@link quoteIdentifier}; `code` is
 * `INVALID_IDENTIFIER` and the message says why without echoing the name.
 *
 * @example
 * ```ts
 * try { quoteIdentifier('x; drop'); } catch (e) { if (e instanceof InvalidIdentifierError) console.error(e.reason); }
 * ```
 */
export class InvalidIdentifierError extends TypeError {
  /** Stable machine-readable code. */
  readonly code = 'INVALID_IDENTIFIER';
  /** Why the identifier was rejected. */
  readonly reason: string;

  /** @param reason why the identifier was rejected */
  constructor(reason: string) {
    super(`Invalid SQL identifier: ${reason}`);
    this.name = 'InvalidIdentifierError';
    this.reason = reason;
  }
}

/**
 * Checks `name` against {@link IDENTIFIER_PATTERN} and returns it double-quoted.
 * Everything that could change a statement's meaning (quotes, dots, spaces, NUL,
 * over-long names) is rejected rather than escaped.
 *
 * @throws {@link InvalidIdentifierError}
 * @example
 * ```ts
 * quoteIdentifier('notify');        // '"notify"'
 * quoteIdentifier('x"; drop ...');  // throws InvalidIdentifierError
 * ```
 */
export function quoteIdentifier(name: string): string {
  const problem = identifierProblem(name);
  if (problem !== undefined) throw new InvalidIdentifierError(problem);
  return `"${name}"`;
}

/**
 * Quotes a possibly schema-qualified name given as parts; `undefined` parts are
 * left out.
 *
 * @throws {@link InvalidIdentifierError}
 * @example
 * ```ts
 * quoteQualifiedName('notify', 'channels'); // '"notify"."channels"'
 * quoteQualifiedName(undefined, 'channels'); // '"channels"'
 * ```
 */
export function quoteQualifiedName(...parts: Array<string | undefined>): string {
  return parts
    .filter((p): p is string => p !== undefined)
    .map(quoteIdentifier)
    .join('.');
}
