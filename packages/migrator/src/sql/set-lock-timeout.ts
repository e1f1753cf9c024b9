import type { Queryable } from './queryable.js';

/** Sets the session's `lock_timeout` (milliseconds; 0 disables it). */
export async function setLockTimeout(db: Queryable, ms: number): Promise<void> {
  await db.query(`select set_config('lock_timeout', $1, false)`, [`${Math.max(0, Math.floor(ms))}ms`]);
}
