import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import type { FailurePosition } from '../errors/migration-failed-error.js';
import type { ResolvedStep } from '../migration/migration.js';
import { singleClientKysely } from '../session/single-client-kysely.js';
import type { Queryable } from '../sql/queryable.js';
import { isTransactionControl, lineAndColumn, splitSqlStatements, type SqlStatement } from '../sql-text/split-statements.js';

/** Where a failed step was when it failed. */
export interface StepFailure {
  /** The statement that failed, when known. */
  statement: string | undefined;
  /** Position of the failure in the migration's SQL, when known. */
  position: FailurePosition | undefined;
}

/**
 * Runs one step on the session's connection. SQL text goes as one simple
 * query (all its statements); Kysely steps get a `Kysely` bound to the same
 * connection. In a transaction, a Kysely step may not begin/commit itself;
 * outside one, it may send one query only.
 * Throws the driver error, with `stepFailure` attached.
 */
export async function executeStep(db: Queryable, step: ResolvedStep, inTransaction: boolean, migrationId: string): Promise<void> {
  if (step.kind === 'sql') {
    for (let i = 0; i < step.statements.length; i++) {
      const st = step.statements[i] as SqlStatement;
      try {
        await db.query(st.text);
      } catch (error) {
        throw attach(error, statementFailure(step.sql, st, i, error));
      }
    }
    return;
  }
  let last: string | undefined;
  let count = 0;
  const kysely = singleClientKysely(db, (sql) => {
    last = sql;
    count++;
    if (inTransaction && isTransactionControl(sql)) {
      throw new InvalidMigrationError(`must not control the transaction ("${sql.slice(0, 30)}"): the runner owns it`, migrationId);
    }
    if (!inTransaction) {
      if (count > 1) throw new InvalidMigrationError('runs outside a transaction, so it may send exactly one statement', migrationId);
      if (splitSqlStatements(sql).length > 1)
        throw new InvalidMigrationError('runs outside a transaction, so its query must hold one statement', migrationId);
    }
  });
  try {
    await step.fn(kysely);
  } catch (error) {
    throw attach(error, last === undefined ? { statement: undefined, position: undefined } : queryFailure(last, error));
  }
}

/** The failure details attached to an error by `executeStep`. */
export function stepFailureOf(error: unknown): StepFailure | undefined {
  return (error as { stepFailure?: StepFailure } | null)?.stepFailure;
}

function attach(error: unknown, failure: StepFailure): unknown {
  if (typeof error === 'object' && error !== null)
    Object.defineProperty(error, 'stepFailure', { value: failure, enumerable: false, configurable: true });
  return error;
}

function rawPosition(error: unknown): number | undefined {
  const raw = Number((error as { position?: string } | null)?.position);
  return Number.isFinite(raw) && raw > 0 ? raw : undefined;
}

function statementFailure(script: string, st: SqlStatement, index: number, error: unknown): StepFailure {
  const raw = rawPosition(error);
  const { line, column } = lineAndColumn(script, st.start + (raw === undefined ? 0 : raw - 1));
  return { statement: st.text, position: { statement: index + 1, line, column, ...(raw !== undefined ? { rawPosition: raw } : {}) } };
}

function queryFailure(sql: string, error: unknown): StepFailure {
  const raw = rawPosition(error);
  if (raw === undefined) return { statement: sql, position: undefined };
  const { line, column } = lineAndColumn(sql, raw - 1);
  return { statement: sql, position: { line, column, rawPosition: raw } };
}
