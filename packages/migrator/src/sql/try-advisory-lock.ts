import type { Queryable } from './queryable.js';

/** First key of every migrator advisory lock ('STEL'); the second is `hashtext(<schema>.<table>)`. */
export const MIGRATOR_LOCK_CLASS = 0x5354454c;

/** `pg_try_advisory_lock` on the migration lock of a tracking table; never waits. */
export async function tryAdvisoryLock(db: Queryable, lockName: string): Promise<boolean> {
  const { rows } = await db.query<{ locked: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as locked', [
    MIGRATOR_LOCK_CLASS,
    lockName,
  ]);
  return rows[0]?.locked === true;
}
