import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { ConfigurationError } from '../errors/configuration-error.js';
import { formatConnectionUrl, parseConnectionString, redactConnectionString } from '../options/connection-string.js';
import type { PostgresOptions } from '../options/postgres-options.js';
import { sessionDefaults, startupOptions } from './session-defaults.js';
import { StatementNames } from './statement-cache.js';

/**
 * The logging surface this package uses; a pino logger fits as is. Objects
 * logged never contain passwords (connection strings are redacted).
 */
export interface DataLayerLogger {
  /** Informational event. */
  info(obj: object, msg: string): void;
  /** Something went wrong but was handled. */
  warn(obj: object, msg: string): void;
}

/** Optional timing hooks (set by {@link registerPoolMetrics}); undefined means no overhead. */
export interface PoolInstrumentation {
  /** Seconds spent waiting for a pooled connection. */
  onAcquire?(seconds: number): void;
  /** Seconds spent executing one statement (including its round trip). */
  onQuery?(seconds: number): void;
}

/**
 * One `pg.Pool` shared by every data source of a process that talks to the same
 * server (same normalized connection string and pooler mode). Reference-counted:
 * the pool ends when the last data source using it closes.
 */
export class SharedPool {
  /** The underlying pool. */
  readonly pool: pg.Pool;
  /** Registry key: normalized connection string (with password) + pooler mode. */
  readonly key: string;
  /** The connection string with the password redacted, for logs. */
  readonly displayName: string;
  /** Options the pool was built from. */
  readonly options: PostgresOptions;
  /** Timing hooks, when metrics are registered. */
  instrumentation: PoolInstrumentation | undefined;
  /** Auto-prepare names (undefined when prepared statements are off). */
  readonly statementNames: StatementNames | undefined;
  #refs = 0;
  #ended: Promise<void> | undefined;
  readonly #onRelease: (p: SharedPool) => void;

  /**
   * @param options validated options
   * @param key registry key
   * @param onRelease called when the last reference is released
   */
  constructor(options: PostgresOptions, key: string, onRelease: (p: SharedPool) => void, logger?: DataLayerLogger) {
    this.options = options;
    this.key = key;
    this.#onRelease = onRelease;
    this.displayName = redactConnectionString(key.split('#')[0] ?? '');
    this.pool = new pg.Pool(buildPoolConfig(options));
    guardRoleSettings(this.pool, this.displayName, logger);
    this.statementNames =
      options.poolerMode === 'none' && options.maxAutoPrepare > 0 ? new StatementNames(options.maxAutoPrepare) : undefined;
    // An idle client losing its connection (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', (err: Error & { code?: string }) => {
      logger?.warn(
        { pool: this.displayName, err: { name: err.name, message: err.message, code: err.code } },
        'idle PostgreSQL connection lost; the pool replaces it',
      );
    });
    logger?.info(
      {
        pool: this.displayName,
        poolerMode: options.poolerMode,
        max: options.pool.max,
        commandTimeoutSeconds: options.commandTimeoutSeconds,
      },
      'PostgreSQL pool created',
    );
  }

  /** Adds a reference. */
  retain(): this {
    this.#refs++;
    return this;
  }

  /** Drops a reference; ends the pool at zero. */
  async release(): Promise<void> {
    this.#refs--;
    if (this.#refs > 0) return;
    this.#onRelease(this);
    this.#ended ??= this.pool.end();
    await this.#ended;
  }

  /** True once the pool has been ended. */
  get ended(): boolean {
    return this.#ended !== undefined;
  }
}

/** Marks a client the pool has just opened: its session started with whatever role-level settings existed then. */
const FRESH = Symbol('stellaops.freshClient');

/**
 * Role-level settings (`ALTER ROLE current_user [IN DATABASE …] SET …`) that apply to sessions of this role here,
 * read in a read-write transaction without statement timeout (the settings may include `statement_timeout = 1` or
 * `default_transaction_read_only = on`), one round trip (one server connection behind PgBouncer).
 */
const ROLE_SETTINGS_SQL = `begin read write; set local statement_timeout = 0;
select pg_catalog.current_database() as db, coalesce(pg_catalog.array_agg(pg_catalog.split_part(cfg, '=', 1) order by 1), '{}') as names
  from pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) cfg
 where s.setrole = (select oid from pg_catalog.pg_roles where rolname = current_user)
   and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database()));
commit`;

/** Resets them (a role may always reset its own settings). */
const resetRoleSettingsSql = (database: string): string =>
  `begin read write; set local statement_timeout = 0; alter role current_user reset all; ` +
  `alter role current_user in database "${database.replace(/"/g, '""')}" reset all; commit`;

/**
 * Any role may `ALTER ROLE current_user SET …` (it cannot be revoked): a unit
 * could so give every LATER session of the app role e.g. `search_path =
 * pg_temp` or `statement_timeout = 1`. Before a new connection serves its
 * first unit, one query looks for such settings; when found they are reset
 * (`ALTER ROLE current_user [IN DATABASE …] RESET ALL`, which the role may do
 * to itself), the connection — which started with them — is destroyed and a
 * fresh one is taken, and a warning names the settings (never values).
 * Neutralising rather than failing closed keeps one unit from breaking every
 * later one. Connections opened before the change never see it (role settings
 * apply at session start only).
 */
function guardRoleSettings(pool: pg.Pool, displayName: string, logger: DataLayerLogger | undefined): void {
  pool.on('connect', (client) => {
    (client as unknown as Record<symbol, boolean>)[FRESH] = true;
  });
  const raw = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const checked = async (): Promise<pg.PoolClient> => {
    for (let attempt = 0; ; attempt++) {
      const client = await raw();
      const marks = client as unknown as Record<symbol, boolean>;
      if (!marks[FRESH]) return client;
      let names: string[];
      try {
        const results = (await client.query(ROLE_SETTINGS_SQL)) as unknown as pg.QueryResult[];
        const row = results.find((r) => r.command === 'SELECT')?.rows[0] as { db: string; names: string[] } | undefined;
        names = row?.names ?? [];
        if (names.length > 0) await client.query(resetRoleSettingsSql(row!.db));
      } catch (e) {
        client.release(true);
        throw e;
      }
      if (names.length === 0) {
        delete marks[FRESH];
        return client;
      }
      logger?.warn(
        { pool: displayName, settings: names },
        'the app role had role-level settings (ALTER ROLE … SET); they were reset and the connection replaced',
      );
      client.release(true);
      if (attempt >= 2)
        throw new ConfigurationError([
          { path: 'Postgres', message: `role-level settings (${names.join(', ')}) keep coming back for this role; check who sets them` },
        ]);
    }
  };
  pool.connect = ((callback?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => {
    const p = checked();
    if (!callback) return p;
    p.then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release as boolean | Error | undefined)),
      (err: Error) => callback(err),
    );
    return undefined;
  }) as typeof pool.connect;
}

/** Builds the `pg.Pool` configuration: {@link sessionDefaults} as startup options unless behind a transaction pooler. */
export function buildPoolConfig(o: PostgresOptions): pg.PoolConfig {
  const c = parseConnectionString(o.connectionString);
  const config: pg.PoolConfig = {
    host: c.host,
    port: c.port,
    max: o.pool.max,
    min: o.pool.min,
    idleTimeoutMillis: o.pool.idleTimeoutSeconds * 1000,
    connectionTimeoutMillis: o.connectionTimeoutSeconds * 1000,
    application_name: c.applicationName ?? o.applicationName,
    keepAlive: true,
  };
  if (o.pool.maxLifetimeSeconds > 0) config.maxLifetimeSeconds = o.pool.maxLifetimeSeconds;
  if (c.database !== undefined) config.database = c.database;
  if (c.user !== undefined) config.user = c.user;
  if (c.password !== undefined) config.password = c.password;
  if (o.poolerMode === 'none') {
    // One round trip fewer per connection and zero per statement: the server applies these at startup.
    config.options = startupOptions(sessionDefaults(o));
  }
  const mode = o.tls.mode ?? c.sslMode ?? 'disable';
  const read = (content: string | undefined, file: string | undefined): string | undefined =>
    content ?? (file ? readFileSync(file, 'utf8') : undefined);
  if (mode === 'require' || mode === 'verify-ca' || mode === 'verify-full') {
    const ssl: ConnectionOptions = { rejectUnauthorized: mode !== 'require' };
    const ca = read(o.tls.ca, o.tls.caFile ?? c.sslRootCert); // Postgres__Tls__CaFile, else the string's sslrootcert / Root Certificate
    const cert = read(o.tls.cert, o.tls.certFile);
    const key = read(o.tls.key, o.tls.keyFile);
    if (ca) ssl.ca = ca;
    if (cert) ssl.cert = cert;
    if (key) ssl.key = key;
    if (mode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
    config.ssl = ssl;
  } else if (mode === 'allow' || mode === 'prefer') {
    config.ssl = false; // node-pg cannot negotiate; plain TCP like libpq's fallback
  }
  return config;
}

/**
 * Keeps one {@link SharedPool} per server per process, keyed by the normalized
 * connection string and pooler mode. Asking again with different pool settings
 * for the same key is a configuration error (two owners disagreeing).
 */
export class PoolRegistry {
  readonly #pools = new Map<string, SharedPool>();

  /** Returns the shared pool for these options, creating it on first use (caller must `release()` it). */
  acquire(options: PostgresOptions, logger?: DataLayerLogger): SharedPool {
    const key = `${formatConnectionUrl(parseConnectionString(options.connectionString))}#${options.poolerMode}`;
    const existing = this.#pools.get(key);
    if (existing) {
      if (fingerprint(existing.options) !== fingerprint(options)) {
        throw new ConfigurationError([
          {
            path: 'Postgres',
            message: `a pool for ${existing.displayName} already exists with different settings (pool, timeouts, TLS, schema); modules must share one Postgres section`,
          },
        ]);
      }
      return existing.retain();
    }
    const shared = new SharedPool(
      options,
      key,
      (p) => {
        if (this.#pools.get(p.key) === p) this.#pools.delete(p.key);
      },
      logger,
    );
    this.#pools.set(key, shared);
    return shared.retain();
  }

  /** Number of live pools (for tests and diagnostics). */
  get size(): number {
    return this.#pools.size;
  }
}

function fingerprint(o: PostgresOptions): string {
  // the tenant key belongs to each data source, not to the shared pool
  return JSON.stringify({
    ...o,
    connectionString: undefined,
    tenantKey: undefined,
    tenantKeyId: undefined,
    previousTenantKey: undefined,
    previousTenantKeyId: undefined,
  });
}

/** The process-wide registry used when none is given. */
export const defaultPoolRegistry = new PoolRegistry();
