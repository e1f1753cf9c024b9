import { PostgresCoreError } from './postgres-core-error.js';

/** Fields copied from a PostgreSQL error response, when present. */
export interface DatabaseErrorFields {
  /** SQLSTATE code, e.g. `23505`. */
  readonly sqlState?: string;
  /** Constraint name (integrity violations). */
  readonly constraint?: string;
  /** Table name. */
  readonly table?: string;
  /** Schema name. */
  readonly schema?: string;
  /** Column name (not-null violations). */
  readonly column?: string;
}

/**
 * An error reported by PostgreSQL or the connection to it. `cause` is the
 * original `pg` error; `sqlState`, `constraint`, `table`, `schema`, `column` are
 * copied from it when the server sent them.
 */
export class DatabaseError extends PostgresCoreError implements DatabaseErrorFields {
  /** SQLSTATE code, e.g. `23505` (undefined for client-side failures). */
  readonly sqlState?: string;
  /** Constraint name, when known. */
  readonly constraint?: string;
  /** Table name, when known. */
  readonly table?: string;
  /** Schema name, when known. */
  readonly schema?: string;
  /** Column name, when known. */
  readonly column?: string;
  /** True when retrying the whole unit of work may succeed. */
  readonly retryable: boolean = false;

  /**
   * @param message human-readable message (the server's message, which never contains bound parameter values)
   * @param fields SQLSTATE and object names
   * @param cause the original error
   * @param code stable code
   */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown, code = 'DATABASE_ERROR') {
    super(code, message, { cause });
    if (fields.sqlState !== undefined) this.sqlState = fields.sqlState;
    if (fields.constraint !== undefined) this.constraint = fields.constraint;
    if (fields.table !== undefined) this.table = fields.table;
    if (fields.schema !== undefined) this.schema = fields.schema;
    if (fields.column !== undefined) this.column = fields.column;
  }
}

/** Base of integrity constraint violations (SQLSTATE class 23). */
export class IntegrityConstraintViolationError extends DatabaseError {}

/** `23505 unique_violation`. */
export class UniqueViolationError extends IntegrityConstraintViolationError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'UNIQUE_VIOLATION');
  }
}

/** `23503 foreign_key_violation`. */
export class ForeignKeyViolationError extends IntegrityConstraintViolationError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'FOREIGN_KEY_VIOLATION');
  }
}

/** `23514 check_violation`. */
export class CheckViolationError extends IntegrityConstraintViolationError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'CHECK_VIOLATION');
  }
}

/** `23502 not_null_violation`. */
export class NotNullViolationError extends IntegrityConstraintViolationError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'NOT_NULL_VIOLATION');
  }
}

/** Base of errors after which retrying the whole transaction may succeed. */
export class TransactionRollbackError extends DatabaseError {
  override readonly retryable = true;
}

/** `40001 serialization_failure`: retry the transaction (see {@link withRetry}). */
export class SerializationFailureError extends TransactionRollbackError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'SERIALIZATION_FAILURE');
  }
}

/** `40P01 deadlock_detected`: retry the transaction (see {@link withRetry}). */
export class DeadlockDetectedError extends TransactionRollbackError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'DEADLOCK_DETECTED');
  }
}

/** `57014 query_canceled` for a reason other than the statement timeout. */
export class QueryCanceledError extends DatabaseError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown, code = 'QUERY_CANCELED') {
    super(message, fields, cause, code);
  }
}

/** `57014` raised by `statement_timeout` (`commandTimeoutSeconds`). */
export class StatementTimeoutError extends QueryCanceledError {
  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'STATEMENT_TIMEOUT');
  }
}

/**
 * The connection was lost or refused (SQLSTATE class 08, `57P01` admin shutdown,
 * `57P02` crash shutdown, `57P03` cannot connect now, socket errors). Retryable:
 * the pool replaces the connection; work that was in flight was rolled back.
 */
export class ConnectionLostError extends DatabaseError {
  override readonly retryable = true;

  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'CONNECTION_LOST');
  }
}

/**
 * No pooled connection became available within the acquire timeout
 * (`connectionTimeoutSeconds`): the pool is exhausted or the server unreachable.
 */
export class PoolTimeoutError extends DatabaseError {
  override readonly retryable = true;

  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'POOL_TIMEOUT');
  }
}
