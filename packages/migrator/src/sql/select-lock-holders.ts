import type { LockHolder } from '../errors/lock-timeout-error.js';
import { MIGRATOR_LOCK_CLASS } from './try-advisory-lock.js';
import type { Queryable } from './queryable.js';

/** Sessions holding the migration lock (for error messages). */
export async function selectLockHolders(db: Queryable, lockName: string): Promise<LockHolder[]> {
  const { rows } = await db.query<{ pid: number; application_name: string | null; client_addr: string | null; state: string | null }>(
    `select l.pid, a.application_name, a.client_addr::text as client_addr, a.state
       from pg_locks l left join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = ($1::bigint & 4294967295)::oid and l.objid = (hashtext($2)::bigint & 4294967295)::oid and l.objsubid = 2`,
    [MIGRATOR_LOCK_CLASS, lockName],
  );
  return rows.map((r) => ({ pid: r.pid, applicationName: r.application_name, clientAddr: r.client_addr, state: r.state }));
}
