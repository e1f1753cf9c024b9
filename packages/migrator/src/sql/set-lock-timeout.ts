import type { Queryable } from './queryable.js';

/** Sets `lock_timeout` (milliseconds; 0 disables it) for the session, or with `local` for the current transaction. */
export async function setLockTimeout(db: Queryable, ms: number, local = false): Promise<void> {
  await db.query(`select set_config('lock_timeout', $1, $2)`, [`${Math.max(0, Math.floor(ms))}ms`, local]);
}
