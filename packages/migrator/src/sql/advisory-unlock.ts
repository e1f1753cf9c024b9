import { MIGRATOR_LOCK_CLASS } from './try-advisory-lock.js';
import type { Queryable } from './queryable.js';

/** Releases the migration lock; false when this session did not hold it. */
export async function advisoryUnlock(db: Queryable, lockName: string): Promise<boolean> {
  const { rows } = await db.query<{ unlocked: boolean }>('select pg_advisory_unlock($1, hashtext($2)) as unlocked', [
    MIGRATOR_LOCK_CLASS,
    lockName,
  ]);
  return rows[0]?.unlocked === true;
}
