import { PostgresCoreError } from './postgres-core-error.js';
import {
  CheckViolationError,
  ConnectionLostError,
  DatabaseError,
  DeadlockDetectedError,
  ForeignKeyViolationError,
  IntegrityConstraintViolationError,
  NotNullViolationError,
  PoolTimeoutError,
  QueryCanceledError,
  SerializationFailureError,
  StatementTimeoutError,
  TooManyParametersError,
  UniqueViolationError,
  type DatabaseErrorFields,
} from './database-errors.js';

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Connection ended',
  'terminating connection',
  'server closed the connection',
];

/** PgBouncer's own 08P01 errors when its server connection died or cannot be made (server restart, crash recovery). */
const PGBOUNCER_SERVER_FAILURES =
  /server conn crashed\?|server login has been failing|pgbouncer cannot connect to server|server_connect_timeout/;

/**
 * Maps any error thrown by `pg` (or the socket below it) to the typed hierarchy
 * rooted at {@link DatabaseError}. Errors already typed by this package are
 * returned unchanged; unknown non-database errors are returned unchanged too.
 *
 * @example
 * ```ts
 * try { await pool.query(sql, params); } catch (e) { throw mapDatabaseError(e); }
 * ```
 */
export function mapDatabaseError(error: unknown): unknown {
  if (error instanceof PostgresCoreError) return error;
  if (!(error instanceof Error)) return error;
  const e = error as Error & Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const fields: DatabaseErrorFields = {
    ...(code && /^[0-9A-Z]{5}$/.test(code) ? { sqlState: code } : {}),
    ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
    ...(typeof e.table === 'string' ? { table: e.table } : {}),
    ...(typeof e.schema === 'string' ? { schema: e.schema } : {}),
    ...(typeof e.column === 'string' ? { column: e.column } : {}),
  };
  const message = e.message;
  switch (fields.sqlState) {
    case '23505':
      return new UniqueViolationError(message, fields, error);
    case '23503':
      return new ForeignKeyViolationError(message, fields, error);
    case '23514':
      return new CheckViolationError(message, fields, error);
    case '23502':
      return new NotNullViolationError(message, fields, error);
    case '40001':
      return new SerializationFailureError(message, fields, error);
    case '40P01':
      return new DeadlockDetectedError(message, fields, error);
    case '57014':
      return /statement timeout/i.test(message)
        ? new StatementTimeoutError(message, fields, error)
        : new QueryCanceledError(message, fields, error);
    case '08P01':
      // PgBouncer reports its server-side failures with 08P01 and closes the client: a lost connection, retryable
      if (PGBOUNCER_SERVER_FAILURES.test(message)) return new ConnectionLostError(message, fields, error);
      // otherwise protocol_violation is an ordinary ERROR: the connection is fine and a retry would fail the same way
      return /bind message|parameter/i.test(message)
        ? new TooManyParametersError(undefined, error)
        : new DatabaseError(message, fields, error, 'PROTOCOL_VIOLATION');
    default:
      break;
  }
  if (fields.sqlState) {
    if (fields.sqlState.startsWith('08') || CONNECTION_CODES.has(fields.sqlState)) {
      return new ConnectionLostError(message, fields, error);
    }
    if (fields.sqlState.startsWith('23'))
      return new IntegrityConstraintViolationError(message, fields, error, 'INTEGRITY_CONSTRAINT_VIOLATION');
    return new DatabaseError(message, fields, error);
  }
  if (/timeout exceeded when trying to connect/i.test(message)) {
    return new PoolTimeoutError('Timed out waiting for a pooled connection', fields, error);
  }
  if ((code && SOCKET_CODES.has(code)) || CONNECTION_MESSAGES.some((m) => message.includes(m))) {
    return new ConnectionLostError(message, fields, error);
  }
  return error;
}

/**
 * True when retrying the whole unit of work may succeed: serialization
 * failure, deadlock, lost connection, pool timeout.
 */
export function isRetryableError(error: unknown): boolean {
  const mapped = mapDatabaseError(error);
  return mapped instanceof DatabaseError && mapped.retryable;
}
