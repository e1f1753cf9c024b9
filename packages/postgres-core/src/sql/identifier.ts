import { IDENTIFIER_PATTERN, identifierProblem } from '@stellaops/safe-text';
import { InvalidIdentifierError } from '../errors/usage-errors.js';

export { IDENTIFIER_PATTERN };

/**
 * Validates `name` by the repository's one identifier rule
 * ({@link IDENTIFIER_PATTERN}, from `@stellaops/safe-text`) and returns it
 * double-quoted. Everything that could change the statement's meaning (quotes,
 * dots, spaces, NUL, over-long names) is rejected rather than escaped. Throws
 * postgres-core's own {@link InvalidIdentifierError}, so callers catch one
 * error family.
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
 * Quotes a possibly schema-qualified name given as parts.
 *
 * @example
 * ```ts
 * quoteQualifiedName('notify', 'channels'); // '"notify"."channels"'
 * ```
 */
export function quoteQualifiedName(...parts: Array<string | undefined>): string {
  return parts
    .filter((p): p is string => p !== undefined)
    .map(quoteIdentifier)
    .join('.');
}
