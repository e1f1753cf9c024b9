import type { Queryable } from './queryable.js';

/**
 * Undoes session settings a migration may have left (`SET search_path`,
 * `SET ROLE`…) so the next migration of the run starts like the first one,
 * then restores the runner's `lock_timeout`. One round trip.
 */
export async function resetSession(db: Queryable, lockTimeoutMs: number): Promise<void> {
  await db.query(`reset all; select set_config('lock_timeout', '${Math.max(0, Math.floor(lockTimeoutMs))}ms', false)`);
}
