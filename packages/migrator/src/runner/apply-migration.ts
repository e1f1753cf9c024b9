import { setTimeout as sleep } from 'node:timers/promises';
import { MigratorError } from '../errors/migrator-error.js';
import type { ResolvedMigration } from '../migration/migration.js';
import { deleteAppliedMigrationSql } from '../sql/delete-applied-migration.js';
import { insertAppliedMigrationSql } from '../sql/insert-applied-migration.js';
import { migrationPreludeSql } from '../sql/migration-prelude.js';
import type { Queryable } from '../sql/queryable.js';
import { executeStep } from './execute-step.js';
import type { MigratorEvent } from './migrator-event.js';

/** SQLSTATE of `lock_timeout` expiring (lock_not_available). */
export const LOCK_NOT_AVAILABLE = '55P03';

/** How one migration is applied or reverted. */
export interface ApplyContext {
  /** The session connection. */
  db: Queryable;
  /** Schema of the tracking table. */
  schema: string;
  /** Tracking table. */
  table: string;
  /** Recorded as `applied_by`; null → `current_user`. */
  appliedBy: string | null;
  /** Retries after a `lock_timeout` (transactional migrations only). */
  lockRetries: number;
  /** First retry delay in ms (doubles). */
  retryDelayMs: number;
  /** The session's `lock_timeout` (restored after each migration, which may have changed it). */
  sessionLockTimeoutMs: number;
  /** Progress sink. */
  emit: (e: MigratorEvent) => void;
}

/** Outcome of one successful apply/revert. */
export interface ApplyOutcome {
  /** Milliseconds of the successful attempt. */
  durationMs: number;
  /** Attempts made. */
  attempts: number;
}

/**
 * Applies (`up`) or reverts (`down`) one migration. In a transaction (the
 * default) the step and its tracking row commit together or not at all; a
 * `lock_timeout` rolls back and retries up to `lockRetries` times. Outside a
 * transaction the single statement runs, then the row is written; it is not
 * retried (a failed `CREATE INDEX CONCURRENTLY` can leave an invalid index to
 * inspect first). Throws the step's error with `attempts` attached.
 */
export async function applyMigration(ctx: ApplyContext, m: ResolvedMigration, direction: 'up' | 'down'): Promise<ApplyOutcome> {
  const step = direction === 'up' ? m.up : m.down;
  if (!step) throw new MigratorError('NO_DOWN', `migration ${m.id} has no down`);
  const recordSql = (durationMs: number) =>
    direction === 'up'
      ? insertAppliedMigrationSql(ctx.schema, ctx.table, {
          id: m.id,
          description: m.description,
          checksum: m.checksum,
          durationMs,
          appliedBy: ctx.appliedBy,
          inTransaction: m.transaction,
        })
      : deleteAppliedMigrationSql(ctx.schema, ctx.table, m.id);
  const prelude = migrationPreludeSql({
    schema: ctx.schema,
    sessionLockTimeoutMs: ctx.sessionLockTimeoutMs,
    migrationLockTimeoutMs: m.lockTimeoutMs,
    begin: m.transaction,
  });
  if (!m.transaction) {
    await ctx.db.query(prelude);
    try {
      const t0 = performance.now();
      await executeStep(ctx.db, step, false, m.id);
      const durationMs = performance.now() - t0;
      await ctx.db.query(recordSql(durationMs));
      return { durationMs, attempts: 1 };
    } finally {
      // the session-level search_path and lock_timeout of this migration end with it
      await ctx.db
        .query(`reset search_path; select set_config('lock_timeout', '${Math.max(0, Math.floor(ctx.sessionLockTimeoutMs))}ms', false)`)
        .catch(() => {});
    }
  }
  for (let attempt = 1; ; attempt++) {
    // Round trips: prelude (reset + begin), the step, then the tracking row and COMMIT together.
    await ctx.db.query(prelude);
    try {
      const t0 = performance.now();
      await executeStep(ctx.db, step, true, m.id);
      const durationMs = performance.now() - t0;
      const results = (await ctx.db.query(`${recordSql(durationMs)}; commit`)) as unknown;
      const last = Array.isArray(results) ? (results[results.length - 1] as { command?: string }) : (results as { command?: string });
      if (last.command === 'ROLLBACK') {
        throw new MigratorError(
          'ABORTED_TRANSACTION',
          'the transaction was aborted by an earlier error the migration swallowed; it was rolled back',
        );
      }
      return { durationMs, attempts: attempt };
    } catch (error) {
      await ctx.db.query('rollback').catch(() => {});
      const sqlState = (error as { code?: unknown } | null)?.code;
      if (sqlState === LOCK_NOT_AVAILABLE && attempt <= ctx.lockRetries) {
        const delayMs = ctx.retryDelayMs * 2 ** (attempt - 1);
        ctx.emit({ type: 'migration-retry', id: m.id, attempt, sqlState, delayMs });
        await sleep(delayMs);
        continue;
      }
      if (typeof error === 'object' && error !== null) Object.defineProperty(error, 'attempts', { value: attempt, configurable: true });
      throw error;
    }
  }
}
