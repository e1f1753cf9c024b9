import pg from 'pg';
import { MigratorError } from '../errors/migrator-error.js';
import { PoolerDetectedError } from '../errors/pooler-detected-error.js';
import { selectBackendInfo, type BackendInfo } from '../sql/select-backend-info.js';
import { setLockTimeout } from '../sql/set-lock-timeout.js';
import { normalizeConnectionString, redactConnectionString } from './connection-string.js';

/** Options of a migration session. */
export interface SessionOptions {
  /** `application_name` shown in `pg_stat_activity`. */
  applicationName?: string;
  /** Refuse a connection that goes through a pooler (default true). */
  refusePooler?: boolean;
  /** Session `lock_timeout` for DDL, in ms. */
  lockTimeoutMs?: number;
  /** Connect timeout, in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** node-pg TLS settings; when given they replace the connection string's `sslmode` (node-pg lets the URL win otherwise). */
  ssl?: pg.ClientConfig['ssl'];
}

/**
 * One direct connection to PostgreSQL that a migration run does everything
 * on: the advisory lock, reading the tracking table, and each migration.
 */
export class MigrationSession {
  private constructor(
    /** The connection. */
    readonly client: pg.Client,
    /** Facts about the backend. */
    readonly backend: BackendInfo,
    /** Whether a pooler sits between us and the server. */
    readonly pooled: boolean,
  ) {}

  /**
   * Connects. With `refusePooler` (default), throws `PoolerDetectedError`
   * when the pid announced at startup differs from `pg_backend_pid()` —
   * PgBouncer and similar proxies announce their own key to clients.
   */
  static async open(connectionString: string, options: SessionOptions = {}): Promise<MigrationSession> {
    let url: string;
    try {
      url = normalizeConnectionString(connectionString);
    } catch (error) {
      throw new MigratorError(
        'INVALID_CONNECTION_STRING',
        `invalid connection string: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (options.ssl !== undefined) {
      const u = new URL(url);
      u.searchParams.delete('sslmode');
      url = u.toString();
    }
    const client = new pg.Client({
      connectionString: url,
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      application_name: options.applicationName ?? 'stella-migrator',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      throw new MigratorError(
        'CONNECTION_FAILED',
        `cannot connect to ${redactConnectionString(url)}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    try {
      const backend = await selectBackendInfo(client);
      const announced = (client as unknown as { processID: number | null }).processID;
      const pooled = announced !== backend.pid;
      if (pooled && (options.refusePooler ?? true)) throw new PoolerDetectedError(announced, backend.pid);
      if (options.lockTimeoutMs !== undefined) await setLockTimeout(client, options.lockTimeoutMs);
      return new MigrationSession(client, backend, pooled);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  /** Closes the connection (which also releases any session lock it held). */
  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
