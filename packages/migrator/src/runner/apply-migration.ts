import { setTimeout as sleep } from 'node:timers/promises';
import { MigratorError } from '../errors/migrator-error.js';
import type { ResolvedMigration } from '../migration/migration.js';
import { deleteAppliedMigration } from '../sql/delete-applied-migration.js';
import { insertAppliedMigration } from '../sql/insert-applied-migration.js';
import type { Queryable } from '../sql/queryable.js';
import { resetSession } from '../sql/reset-session.js';
import { setLockTimeout } from '../sql/set-lock-timeout.js';
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
  const record = async (durationMs: number) => {
    if (direction === 'up') {
      await insertAppliedMigration(ctx.db, ctx.schema, ctx.table, {
        id: m.id,
        description: m.description,
        checksum: m.checksum,
        durationMs,
        appliedBy: ctx.appliedBy,
        inTransaction: m.transaction,
      });
    } else {
      await deleteAppliedMigration(ctx.db, ctx.schema, ctx.table, m.id);
    }
  };
  if (!m.transaction) {
    if (m.lockTimeoutMs !== undefined) await setLockTimeout(ctx.db, m.lockTimeoutMs);
    const t0 = performance.now();
    try {
      await executeStep(ctx.db, step, false, m.id);
    } finally {
      if (m.lockTimeoutMs !== undefined) await setLockTimeout(ctx.db, ctx.sessionLockTimeoutMs).catch(() => {});
    }
    const durationMs = performance.now() - t0;
    await record(durationMs);
    await resetSession(ctx.db, ctx.sessionLockTimeoutMs);
    return { durationMs, attempts: 1 };
  }
  for (let attempt = 1; ; attempt++) {
    await ctx.db.query('begin');
    try {
      if (m.lockTimeoutMs !== undefined) await setLockTimeout(ctx.db, m.lockTimeoutMs, true);
      const t0 = performance.now();
      await executeStep(ctx.db, step, true, m.id);
      const durationMs = performance.now() - t0;
      await record(durationMs);
      const commit = await ctx.db.query('commit');
      if ((commit as { command?: string }).command === 'ROLLBACK') {
        throw new MigratorError('ABORTED_TRANSACTION', 'the transaction was aborted by an earlier error the migration swallowed; it was rolled back');
      }
      await resetSession(ctx.db, ctx.sessionLockTimeoutMs);
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
