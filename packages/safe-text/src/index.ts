export { IDENTIFIER_PATTERN, InvalidIdentifierError, identifierProblem, quoteIdentifier, quoteQualifiedName } from './identifier.js';
export { REDACTED, redactConnectionString, redactSecrets, type RedactOptions } from './redact.js';
