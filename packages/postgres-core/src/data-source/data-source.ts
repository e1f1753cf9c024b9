import {
  Kysely,
  Log,
  type AccessMode,
  type Compilable,
  type CompiledQuery,
  type IsolationLevel,
  type KyselyPlugin,
  type LogConfig,
  type QueryResult,
  type Transaction,
  type UnknownRow,
} from 'kysely';
import type pg from 'pg';
import { DataSourceClosedError, TenantKeyMissingError } from '../errors/usage-errors.js';
import { parsePostgresOptions, type PostgresOptions, type PostgresOptionsInput } from '../options/postgres-options.js';
import { validateTenantId } from '../tenant/tenant-id.js';
import { defaultPoolRegistry, type DataLayerLogger, type PoolRegistry, type SharedPool } from './pool-handle.js';
import { acquireScopedConnection, ScopedDialect, type ScopedConnection } from './scoped-driver.js';
import { sessionDefaults } from './session-defaults.js';
import { buildSessionScope, type SessionScope } from './session-scope.js';
import { IDENTIFIER_PATTERN } from '../sql/identifier.js';
import { InvalidIdentifierError } from '../errors/usage-errors.js';

/**
 * What a module may configure on its data source (the seed's `ConfigureDataSource`):
 * Kysely plugins, logging and extra transaction-local settings.
 *
 * @example
 * ```ts
 * createDataSource<NotifyDb>(opts, { module: 'Notify', configure: (b) => b.addPlugin(new CamelCasePlugin()).setSessionSetting('lock_timeout', '5s') });
 * ```
 */
export class DataSourceBuilder {
  /** Kysely plugins for this module's instances. */
  readonly plugins: KyselyPlugin[] = [];
  /** Extra settings made transaction-local (bound `set_config(name, value, true)`) at the start of each transaction. */
  readonly sessionSettings: Array<readonly [string, string]> = [];
  /** Kysely log config. */
  log: LogConfig | undefined;

  /** Adds a Kysely plugin. */
  addPlugin(plugin: KyselyPlugin): this {
    this.plugins.push(plugin);
    return this;
  }

  /**
   * Adds a setting applied transaction-locally before each transaction's (or
   * autocommit statement's) first statement, in the same round trip. The pool is
   * shared by modules, so module settings are never made session-wide.
   */
  setSessionSetting(name: string, value: string): this {
    if (!/^[A-Za-z_][A-Za-z0-9_.]{0,62}$/.test(name)) throw new InvalidIdentifierError('setting name');
    this.sessionSettings.push([name, value]);
    return this;
  }

  /** Sets Kysely's log config. */
  setLog(log: LogConfig): this {
    this.log = log;
    return this;
  }
}

/** Options of {@link createDataSource} besides the Postgres options. */
export interface CreateDataSourceSettings {
  /** Module name, for diagnostics. */
  module?: string;
  /** Module-specific configuration hook. */
  configure?: (builder: DataSourceBuilder) => void;
  /** Pool registry (default: the process-wide one). */
  registry?: PoolRegistry;
  /** Maximum number of tenant-bound Kysely instances cached (default 256). */
  tenantCacheSize?: number;
  /** Logger (e.g. pino) for pool lifecycle events; passwords are never logged. */
  logger?: DataLayerLogger;
}

/** A Kysely instance of a data source and the session scope its connections apply (what `batchWithTenant` needs). */
interface ScopedKysely<DB> {
  /** The instance handed out (`db`, `forTenant`). */
  readonly kysely: Kysely<DB>;
  /** What its connections set at the start of each unit; `batchWithTenant` acquires connections with it. */
  readonly scope: SessionScope;
}

/** Transaction settings of {@link PostgresDataSource.withTenant}. */
export interface TenantTransactionSettings {
  /** Isolation level (default: the server's, read committed). */
  isolationLevel?: IsolationLevel;
  /** Access mode. */
  accessMode?: AccessMode;
}

/**
 * A module's handle on PostgreSQL: an unscoped `Kysely<DB>` (`db`) and
 * tenant-scoped ones (`forTenant`, `withTenant`), over a pool shared with the
 * other modules of the process that use the same server.
 *
 * Tenant scoping: every transaction (or autocommit statement) of a tenant-bound
 * instance starts with a bound, transaction-local
 * `select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)`
 * sent in the SAME round trip as its first statement, so it cannot leak to
 * another client, also behind PgBouncer transaction pooling. The proof
 * (`<key id>.<hex HMAC-SHA256(tenantKey, tenant id)>`, computed once per
 * tenant) is what the database's `stellaops_security.current_tenant()`
 * verifies: a tenant set by SQL without it selects and writes nothing.
 *
 * @example
 * ```ts
 * await using ds = createDataSource<DB>({ connectionString: process.env.PG_URL! });
 * const rows = await ds.forTenant('acme').selectFrom('items').selectAll().execute(); // 1 round trip
 * await ds.withTenant('acme', async (trx) => {
 *   await trx.insertInto('items').values({ id, tenant_id: 'acme', name }).execute();
 *   await trx.updateTable('counters').set({ n: sql`n + 1` }).execute();
 * });
 * ```
 */
export class PostgresDataSource<DB> implements AsyncDisposable {
  /** Validated options. */
  readonly options: PostgresOptions;
  /** Module name, when given. */
  readonly module: string | undefined;
  /** Unscoped Kysely: RLS-protected tables return no rows through it. */
  readonly db: Kysely<DB>;
  readonly #shared: SharedPool;
  readonly #builder: DataSourceBuilder;
  readonly #tenantCache = new Map<string, ScopedKysely<DB>>();
  readonly #cacheSize: number;
  /** Kysely's logger over the builder's log config (undefined: nothing to log). */
  readonly #log: Log | undefined;
  #closed: Promise<void> | undefined;

  /** @internal use {@link createDataSource} */
  constructor(options: PostgresOptions, shared: SharedPool, builder: DataSourceBuilder, settings: CreateDataSourceSettings) {
    this.options = options;
    this.module = settings.module;
    this.#shared = shared;
    this.#builder = builder;
    this.#cacheSize = settings.tenantCacheSize ?? 256;
    this.#log = builder.log ? new Log(builder.log) : undefined;
    this.db = this.#kysely(undefined, undefined).kysely;
  }

  /** The shared `pg.Pool` (raw queries through it get no tenant and, behind a transaction pooler, no session defaults). */
  get pool(): pg.Pool {
    return this.#shared.pool;
  }

  /** The shared pool handle (metrics, health). */
  get sharedPool(): SharedPool {
    return this.#shared;
  }

  /** The connection string with its password redacted. */
  get displayName(): string {
    return this.#shared.displayName;
  }

  /**
   * A `Kysely<DB>` bound to `tenantId`. Each statement run on it directly is its
   * own transaction (tenant set in the same round trip); `.transaction()` gives
   * a multi-statement unit. Instances are cached per tenant.
   *
   * @throws {@link InvalidTenantIdError} for a malformed id
   * @throws {@link TenantKeyMissingError} when the options have no `tenantKey`
   */
  forTenant(tenantId: string): Kysely<DB> {
    return this.#tenantEntry(tenantId).kysely;
  }

  /**
   * Runs independent statements as ONE atomic tenant-scoped unit in ONE round
   * trip (tenant, statements and, with `settings`, `BEGIN`/`COMMIT` pipelined
   * before a single Sync). Use it when no statement needs the result of another
   * (bulk writes, several reads). If one fails, none takes effect.
   *
   * Like a query run through Kysely, each result goes through the data
   * source's plugins' `transformResult` (e.g. `CamelCasePlugin` renames the
   * columns; `transformQuery` already ran when the query was compiled), and
   * with a log config (`DataSourceBuilder.setLog`) each statement is logged
   * once: as `'query'` with the whole batch's duration, or, when the batch
   * failed, as `'error'` with the batch's error (none of its statements took
   * effect).
   *
   * @throws {@link InvalidTenantIdError} before touching the database
   * @example
   * ```ts
   * const t = ds.forTenant('acme');
   * const [inserted, count] = await ds.batchWithTenant('acme', [
   *   t.insertInto('items').values(row).returning('id'),
   *   t.selectFrom('items').select((eb) => eb.fn.countAll().as('n')),
   * ]);
   * ```
   */
  async batchWithTenant(
    tenantId: string,
    queries: ReadonlyArray<Compilable<unknown> | CompiledQuery<unknown>>,
    settings: TenantTransactionSettings = {},
  ): Promise<Array<QueryResult<unknown>>> {
    const { scope } = this.#tenantEntry(tenantId);
    if (queries.length === 0) return [];
    const compiled = queries.map((q) => ('compile' in q ? q.compile() : q));
    const connection = await acquireScopedConnection(this.#shared, scope);
    let results: Array<QueryResult<unknown>>;
    try {
      results = await this.#executeBatchLogged(connection, compiled, settings);
    } finally {
      await connection.release();
    }
    const transformed: Array<QueryResult<unknown>> = [];
    for (const [i, result] of results.entries()) transformed.push(await this.#transformResult(result, compiled[i]!));
    return transformed;
  }

  /** Runs the batch on `connection` and logs each statement the way Kysely logs a query (when a log config is set). */
  async #executeBatchLogged(
    connection: ScopedConnection,
    compiled: readonly CompiledQuery[],
    settings: TenantTransactionSettings,
  ): Promise<Array<QueryResult<unknown>>> {
    const log = this.#log;
    if (!log) return connection.executeBatch(compiled, settings);
    const t0 = performance.now();
    let results: Array<QueryResult<unknown>>;
    try {
      results = await connection.executeBatch(compiled, settings);
    } catch (error) {
      const queryDurationMillis = performance.now() - t0;
      for (const query of compiled) await log.error(() => ({ level: 'error', error, query, queryDurationMillis }));
      throw error;
    }
    const queryDurationMillis = performance.now() - t0;
    for (const query of compiled) await log.query(() => ({ level: 'query', query, queryDurationMillis }));
    return results;
  }

  /** Applies the plugins' `transformResult` in order, as Kysely's query executor does. */
  async #transformResult(result: QueryResult<unknown>, query: CompiledQuery): Promise<QueryResult<unknown>> {
    let transformed = result as QueryResult<UnknownRow>;
    for (const plugin of this.#builder.plugins) transformed = await plugin.transformResult({ queryId: query.queryId, result: transformed });
    return transformed;
  }

  #tenantEntry(tenantId: string): ScopedKysely<DB> {
    this.#assertOpen();
    const id = validateTenantId(tenantId);
    let entry = this.#tenantCache.get(id);
    if (entry) return entry;
    const key = this.options.tenantKey;
    if (key === undefined) throw new TenantKeyMissingError(this.module);
    entry = this.#kysely(id, key.proofFor(id), this.options.previousTenantKey?.proofFor(id));
    if (this.#tenantCache.size >= this.#cacheSize) {
      const oldest = this.#tenantCache.keys().next().value;
      if (oldest !== undefined) this.#tenantCache.delete(oldest);
    }
    this.#tenantCache.set(id, entry);
    return entry;
  }

  /**
   * Runs `fn` in a transaction bound to `tenantId`: committed when `fn`
   * resolves, rolled back when it throws. Costs one round trip per statement
   * plus one for `COMMIT` (`BEGIN` and the tenant ride with the first statement).
   *
   * @throws {@link InvalidTenantIdError} before touching the database
   * @example
   * ```ts
   * const n = await ds.withTenant('acme', (trx) => trx.selectFrom('items').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow());
   * ```
   */
  async withTenant<T>(tenantId: string, fn: (trx: Transaction<DB>) => Promise<T>, settings: TenantTransactionSettings = {}): Promise<T> {
    let builder = this.forTenant(tenantId).transaction();
    if (settings.isolationLevel) builder = builder.setIsolationLevel(settings.isolationLevel);
    if (settings.accessMode) builder = builder.setAccessMode(settings.accessMode);
    return builder.execute(fn);
  }

  /** Releases this data source's reference to the shared pool (the pool ends with its last user). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#shared.release();
    return this.#closed;
  }

  /** `await using` support: same as {@link PostgresDataSource.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new DataSourceClosedError();
  }

  #kysely(tenantId: string | undefined, proof: string | undefined, previousProof?: string): ScopedKysely<DB> {
    const transactionPooler = this.options.poolerMode === 'transaction';
    const scope: SessionScope = buildSessionScope({
      tenantId,
      proof,
      previousProof,
      // behind a transaction pooler nothing is sent at startup: the session defaults become transaction-local
      transactionDefaults: [...(transactionPooler ? sessionDefaults(this.options) : []), ...this.#builder.sessionSettings],
      preparedStatements: !transactionPooler,
      alwaysSetTenant: transactionPooler,
    });
    const kysely = new Kysely<DB>({
      dialect: new ScopedDialect(this.#shared, scope),
      plugins: this.#builder.plugins,
      ...(this.#builder.log ? { log: this.#builder.log } : {}),
    });
    return { kysely, scope };
  }
}

/**
 * Creates a module's data source over the process-wide shared pool for that
 * server (created on first use).
 *
 * @throws {@link ConfigurationError} for invalid options (every problem listed, password redacted)
 * @example
 * ```ts
 * const ds = createDataSource<NotifyDb>(persistence.postgres!, { module: 'Notify' });
 * ```
 */
export function createDataSource<DB>(
  options: PostgresOptionsInput | PostgresOptions,
  settings: CreateDataSourceSettings = {},
): PostgresDataSource<DB> {
  const parsed = parsePostgresOptions(options);
  if (parsed.schema && !IDENTIFIER_PATTERN.test(parsed.schema)) throw new InvalidIdentifierError('schema');
  const builder = new DataSourceBuilder();
  settings.configure?.(builder);
  const shared = (settings.registry ?? defaultPoolRegistry).acquire(parsed, settings.logger);
  return new PostgresDataSource<DB>(parsed, shared, builder, settings);
}
