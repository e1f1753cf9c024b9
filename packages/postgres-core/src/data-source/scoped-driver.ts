import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { mapDatabaseError } from '../errors/map-database-error.js';
import { ConnectionLostError } from '../errors/database-errors.js';
import { UnsupportedOperationError } from '../errors/usage-errors.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { queryWithPrelude, type PreludeStatement } from './pipelined-query.js';
import { runBatch } from './batch-query.js';
import type { SessionScope } from './session-scope.js';
import type { SharedPool } from './pool-handle.js';

const MUTATIONS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** `SET`/`RESET` of the tenant setting, any case and spacing (a session-level SET could outlive the unit). */
const TENANT_SET = /\b(?:set|reset)\s+(?:session\s+|local\s+)?"?app"?\s*\.\s*"?tenant_id"?/i;
/** The first argument of every `set_config(` call. */
const SET_CONFIG_NAME = /\bset_config\s*\(\s*([^,)]*)/gi;

/**
 * Refuses statements that set the tenant themselves: `SET app.tenant_id`, and
 * any `set_config` whose setting name is `app.tenant_id` or not a literal
 * (a bound parameter could name it).
 */
export function assertNoTenantWrite(sql: string): void {
  if (!/tenant_id|set_config/i.test(sql)) return;
  // comments and identifier quotes could split the words apart: match on the SQL without them
  const bare = sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ').replace(/"/g, '');
  let bad = TENANT_SET.test(bare);
  for (const m of bare.matchAll(SET_CONFIG_NAME)) {
    const arg = (m[1] ?? '').trim();
    const literal = /^'([^']*)'$/.exec(arg);
    if (!literal || literal[1]!.trim().toLowerCase() === 'app.tenant_id') bad = true;
  }
  if (bad) throw new UnsupportedOperationError('statements must not set app.tenant_id themselves; use forTenant/withTenant');
}

function toKyselyResult<R>(res: pg.QueryResult): QueryResult<R> {
  if (MUTATIONS.has(res.command) && res.rowCount !== null) {
    return { rows: (res.rows ?? []) as R[], numAffectedRows: BigInt(res.rowCount) };
  }
  return { rows: (res.rows ?? []) as R[] };
}

function beginText(settings: TransactionSettings): string {
  let text = 'begin';
  if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
  if (settings.accessMode) text += ` ${settings.accessMode}`;
  return text;
}

/**
 * A pooled connection that applies its {@link SessionScope} lazily:
 * - outside a transaction, each statement runs as `[prelude, statement] + Sync`,
 *   one implicit transaction, one round trip;
 * - `beginTransaction` sends nothing; the transaction's first statement goes
 *   out as `[BEGIN, prelude, statement] + Sync` (one round trip); later
 *   statements go alone; `COMMIT` is one more round trip (none when the
 *   transaction ran no statement).
 *
 * @internal
 */
export class ScopedConnection implements DatabaseConnection {
  readonly client: pg.PoolClient;
  readonly #scope: SessionScope;
  readonly #shared: SharedPool;
  #state: 'idle' | 'pending' | 'open' = 'idle';
  #begin: PreludeStatement | undefined;
  /** Destroy instead of returning to the pool (unknown server-side state). */
  discard = false;

  constructor(client: pg.PoolClient, scope: SessionScope, shared: SharedPool) {
    this.client = client;
    this.#scope = scope;
    this.#shared = shared;
    // pg-pool removes its error listener on checkout: a connection dying between two statements of a
    // unit (server restart) would otherwise emit an unhandled 'error' and crash the process.
    client.on('error', this.#onError);
  }

  readonly #onError = (): void => {
    this.discard = true;
  };

  /** Marks a transaction as requested; nothing is sent yet. */
  begin(settings: TransactionSettings): void {
    const text = beginText(settings);
    this.#begin = this.#scope.preparedStatements && text === 'begin' ? { text, values: [], name: 'stellaops_begin' } : { text, values: [] };
    this.#state = 'pending';
  }

  /** Ends the transaction (`COMMIT`/`ROLLBACK`) if one was opened on the server. */
  async end(command: 'commit' | 'rollback'): Promise<void> {
    const wasOpen = this.#state === 'open';
    this.#state = 'idle';
    if (!wasOpen) return;
    try {
      await this.client.query(command);
    } catch (e) {
      this.discard = true;
      throw mapDatabaseError(e);
    }
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const hooks = this.#shared.instrumentation;
    const t0 = hooks?.onQuery ? performance.now() : 0;
    try {
      let res: pg.QueryResult;
      const values = compiledQuery.parameters as unknown[];
      const text = compiledQuery.sql;
      assertNoTenantWrite(text);
      const name = this.#shared.statementNames?.nameFor(text);
      if (this.#state === 'pending') {
        this.#state = 'open';
        const prelude = this.#begin ? [this.#begin, ...this.#scope.prelude] : this.#scope.prelude;
        res = (await queryWithPrelude(this.client, prelude, text, values, name)).result;
      } else if (this.#state === 'idle' && this.#scope.prelude.length > 0) {
        res = (await queryWithPrelude(this.client, this.#scope.prelude, text, values, name)).result;
      } else {
        res = await this.client.query(name ? { name, text, values } : { text, values });
      }
      return toKyselyResult<R>(res);
    } catch (e) {
      const mapped = mapDatabaseError(e);
      const pgErr = e as { preludeFailed?: boolean; code?: string };
      // 0A000 "cached plan must not change result type": a prepared statement went stale after DDL;
      // drop the connection so that its replacement parses the statement afresh.
      if (pgErr.preludeFailed || pgErr.code === '0A000' || mapped instanceof ConnectionLostError) this.discard = true;
      throw mapped;
    } finally {
      if (hooks?.onQuery) hooks.onQuery((performance.now() - t0) / 1000);
    }
  }

  /**
   * Runs `queries` as one atomic unit in ONE round trip: `[prelude, q1…qn] + Sync`
   * (an implicit transaction), or `[BEGIN <settings>, prelude, q1…qn, COMMIT] + Sync`
   * when transaction settings are given. Any error rolls the whole unit back and
   * discards the connection.
   */
  async executeBatch(queries: readonly CompiledQuery[], settings: TransactionSettings): Promise<Array<QueryResult<unknown>>> {
    if (this.#state !== 'idle') throw new UnsupportedOperationError('a batch cannot run inside a transaction');
    const explicit = settings.isolationLevel !== undefined || settings.accessMode !== undefined;
    const prelude = explicit ? [{ text: beginText(settings), values: [] }, ...this.#scope.prelude] : this.#scope.prelude;
    const postlude = explicit ? [{ text: 'commit', values: [] }] : [];
    const names = this.#shared.statementNames;
    for (const q of queries) assertNoTenantWrite(q.sql);
    const statements = queries.map((q) => {
      const name = names?.nameFor(q.sql);
      return { text: q.sql, values: q.parameters, ...(name ? { name } : {}) };
    });
    try {
      const results = await runBatch(this.client, prelude, statements, postlude);
      return results.map((r) => toKyselyResult(r));
    } catch (e) {
      this.discard = true;
      throw mapDatabaseError(e);
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new UnsupportedOperationError('streamQuery is not supported by @stellaops/postgres-core connections; page with limit/offset or keyset');
  }

  /** Returns the client to the pool (or destroys it when its state is unknown). */
  release(): void {
    if (this.#state === 'open') this.discard = true; // never hand out a connection inside a transaction
    this.client.removeListener('error', this.#onError);
    this.client.release(this.discard ? true : undefined);
  }
}

/**
 * Kysely driver over a {@link SharedPool} that applies a {@link SessionScope}.
 *
 * @internal
 */
export class ScopedDriver implements Driver {
  readonly #shared: SharedPool;
  readonly #scope: SessionScope;

  constructor(shared: SharedPool, scope: SessionScope) {
    this.#shared = shared;
    this.#scope = scope;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const hooks = this.#shared.instrumentation;
    const t0 = hooks?.onAcquire ? performance.now() : 0;
    let client: pg.PoolClient;
    try {
      client = await this.#shared.pool.connect();
    } catch (e) {
      throw mapDatabaseError(e);
    } finally {
      if (hooks?.onAcquire) hooks.onAcquire((performance.now() - t0) / 1000);
    }
    return new ScopedConnection(client, this.#scope, this.#shared);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    (connection as ScopedConnection).begin(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as ScopedConnection).end('commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as ScopedConnection).end('rollback');
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as ScopedConnection).release();
  }

  /** The pool is shared and owned by the data source: nothing to do here. */
  async destroy(): Promise<void> {}
}

/**
 * Kysely dialect using {@link ScopedDriver}.
 *
 * @internal
 */
export class ScopedDialect implements Dialect {
  readonly #shared: SharedPool;
  readonly #scope: SessionScope;
  /** The driver created for the Kysely instance (set by `createDriver`). */
  driver: ScopedDriver | undefined;

  constructor(shared: SharedPool, scope: SessionScope) {
    this.#shared = shared;
    this.#scope = scope;
  }

  createDriver(): Driver {
    this.driver = new ScopedDriver(this.#shared, this.#scope);
    return this.driver;
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
