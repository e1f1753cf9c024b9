import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../errors/lock-timeout-error.js';
import { advisoryUnlock } from '../sql/advisory-unlock.js';
import type { Queryable } from '../sql/queryable.js';
import { selectLockHolders } from '../sql/select-lock-holders.js';
import { tryAdvisoryLock } from '../sql/try-advisory-lock.js';

/** How to wait for the migration lock. */
export interface LockWaitOptions {
  /** Give up after this many ms (default 60 000). */
  waitMs?: number;
  /** First poll interval in ms; doubles up to `maxPollMs` (default 25). */
  pollMs?: number;
  /** Longest poll interval in ms (default 250). */
  maxPollMs?: number;
  /** Called once when the lock is busy and the runner starts waiting. */
  onWait?: () => void;
  /**
   * Called after each failed attempt; resolving `true` stops waiting without
   * the lock (e.g. another runner already applied everything this one would).
   */
  stopWaiting?: () => Promise<boolean>;
}

/**
 * The migration lock of one tracking table: a session advisory lock taken by
 * polling `pg_try_advisory_lock` with a bounded wait (as Flyway does). A
 * waiting runner never sits inside `pg_advisory_lock`, so it cannot deadlock
 * with a `CREATE INDEX CONCURRENTLY` that waits for older transactions.
 */
export class MigrationLock {
  private held = false;

  /**
   * @param db the session's connection (a direct one: session locks do not survive a pooler)
   * @param schema schema (for messages)
   * @param lockName `<schema>.<table>`, hashed into the lock key
   */
  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
    private readonly lockName: string,
  ) {}

  /**
   * Waits for the lock; throws `LockTimeoutError` past the bound. Returns ms
   * waited and whether the lock is held (false when `stopWaiting` ended the wait).
   */
  async acquire(options: LockWaitOptions = {}): Promise<{ waitedMs: number; held: boolean }> {
    const waitMs = options.waitMs ?? 60_000;
    const maxPoll = options.maxPollMs ?? 250;
    let poll = options.pollMs ?? 25;
    const t0 = performance.now();
    let notified = false;
    for (;;) {
      if (await tryAdvisoryLock(this.db, this.lockName)) {
        this.held = true;
        return { waitedMs: performance.now() - t0, held: true };
      }
      if (options.stopWaiting && (await options.stopWaiting())) return { waitedMs: performance.now() - t0, held: false };
      const waited = performance.now() - t0;
      if (waited >= waitMs) {
        const holders = await selectLockHolders(this.db, this.lockName).catch(() => []);
        throw new LockTimeoutError(this.schema, waited, holders);
      }
      if (!notified) {
        notified = true;
        options.onWait?.();
      }
      const jitter = Math.random() * poll * 0.5;
      await sleep(Math.min(poll + jitter, Math.max(1, waitMs - waited)));
      poll = Math.min(poll * 2, maxPoll);
    }
  }

  /** Releases the lock; returns false when it was not held any more. */
  async release(): Promise<boolean> {
    if (!this.held) return false;
    this.held = false;
    return advisoryUnlock(this.db, this.lockName);
  }
}
