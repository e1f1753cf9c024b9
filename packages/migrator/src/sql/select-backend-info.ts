import type { Queryable } from './queryable.js';

/** Facts about the server session the runner is connected to. */
export interface BackendInfo {
  /** `pg_backend_pid()`. */
  pid: number;
  /** `current_user`. */
  user: string;
  /** `current_database()`. */
  database: string;
  /** `server_version_num`. */
  serverVersionNum: number;
}

/** Reads pid, user, database and server version of the session. */
export async function selectBackendInfo(db: Queryable): Promise<BackendInfo> {
  const { rows } = await db.query<{ pid: number; user: string; database: string; v: string }>(
    "select pg_backend_pid() as pid, current_user as user, current_database() as database, current_setting('server_version_num') as v",
  );
  const r = rows[0];
  if (!r) throw new Error('no backend info');
  return { pid: r.pid, user: r.user, database: r.database, serverVersionNum: Number(r.v) };
}
