import { MigratorError } from './migrator-error.js';

/**
 * The connection goes through a connection pooler (PgBouncer, …): the
 * backend pid PostgreSQL reports differs from the one announced at startup.
 * Migrations hold a session advisory lock and may run statements outside a
 * transaction, which a transaction-pooling proxy cannot keep on one backend
 * (a lock could be left held on a pooled connection). Use a direct connection.
 */
export class PoolerDetectedError extends MigratorError {
  /**
   * @param announcedPid pid from the startup BackendKeyData message
   * @param backendPid `pg_backend_pid()`
   */
  constructor(
    readonly announcedPid: number | null,
    readonly backendPid: number,
  ) {
    super(
      'POOLER_DETECTED',
      `refusing to migrate through a connection pooler (startup pid ${String(announcedPid)} ≠ pg_backend_pid() ${backendPid}). ` +
        'Migrations need a direct connection to PostgreSQL: point --url / the connection string at the server, not at PgBouncer.',
    );
  }
}
