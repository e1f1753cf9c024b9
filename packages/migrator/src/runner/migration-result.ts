/**
 * What happened to one migration in a run. A migration whose transaction was
 * rolled back is `failed`, never `applied`.
 * - `applied`: `up` committed with its tracking row;
 * - `reverted`: `down` committed and its tracking row was deleted;
 * - `failed`: it failed (rolled back when it ran in a transaction);
 * - `not-run`: it was planned but not attempted because an earlier one failed.
 */
export type MigrationStatus = 'applied' | 'reverted' | 'failed' | 'not-run';

/** Outcome of one migration in a run. */
export interface MigrationResult {
  /** Migration id. */
  id: string;
  /** `up` or `down`. */
  direction: 'up' | 'down';
  /** What happened. */
  status: MigrationStatus;
  /** Whether it ran in a transaction. */
  inTransaction: boolean;
  /** Milliseconds, when attempted. */
  durationMs?: number;
  /** Attempts made (more than one after `lock_timeout` retries). */
  attempts?: number;
}

/** Outcome of an `up` or `down` run. */
export interface RunReport {
  /** Schema migrated. */
  schema: string;
  /** `up` or `down`. */
  direction: 'up' | 'down';
  /** Every planned migration with its outcome, in execution order. */
  results: MigrationResult[];
  /** Milliseconds spent waiting for the migration lock. */
  lockWaitMs: number;
  /** Milliseconds for the whole run. */
  durationMs: number;
}
