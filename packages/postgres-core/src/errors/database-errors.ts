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

const KYSELY_ABORTED_TRANSACTION = Symbol.for('kysely.AbortedTransactionError');

/**
 * PostgreSQL answered `COMMIT` with `ROLLBACK`: an earlier statement of the
 * transaction failed, its error was caught and the code carried on, so the
 * server had already aborted the transaction. **Nothing of the unit was
 * written.** `cause` is the earlier error when the driver saw it. Not retryable
 * as such: fix the code that swallowed the error (or roll back to a savepoint).
 * Kysely recognises it as its own `AbortedTransactionError` (the transaction
 * is marked rolled back and its connection released).
 */
export class TransactionRolledBackError extends DatabaseError {
  /** Kysely's brand for an aborted transaction (see `isAbortedTransactionError`). */
  readonly [KYSELY_ABORTED_TRANSACTION] = true;

  /** @param cause the error that aborted the transaction, when known */
  constructor(cause?: unknown) {
    super(
      'PostgreSQL rolled the transaction back instead of committing it: an earlier statement failed and its error was caught; nothing of this unit was written',
      { sqlState: '25P02' },
      cause,
      'TRANSACTION_ROLLED_BACK',
    );
  }
}

/**
 * A statement has more bind parameters than the protocol allows (65,535); a
 * retry can never succeed. Split the statement into batches (e.g. insert rows
 * in chunks of `Math.floor(65535 / columnsPerRow)`).
 */
export class TooManyParametersError extends DatabaseError {
  /** @param count parameters the statement has (when known) */
  constructor(count: number | undefined, cause?: unknown) {
    super(
      `A statement can bind at most 65535 parameters${count === undefined ? '' : `, this one has ${count}`}: split it into batches (e.g. insert rows in chunks)`,
      { sqlState: '08P01' },
      cause,
      'TOO_MANY_PARAMETERS',
    );
  }
}

/**
 * A server-side prepared statement the driver had prepared on this connection
 * disappeared in the middle of a transaction (`26000`), e.g. SQL of the unit
 * ran `DEALLOCATE`/`DISCARD`. The transaction is lost; the connection is
 * replaced. Retryable: the whole unit can run again on a fresh connection.
 */
export class PreparedStatementLostError extends DatabaseError {
  override readonly retryable = true;

  /** @inheritDoc */
  constructor(message: string, fields: DatabaseErrorFields, cause?: unknown) {
    super(message, fields, cause, 'PREPARED_STATEMENT_LOST');
  }
}
