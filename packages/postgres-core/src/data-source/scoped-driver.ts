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
import {
  ConnectionLostError,
  PreparedStatementLostError,
  TooManyParametersError,
  TransactionRolledBackError,
} from '../errors/database-errors.js';
import { InvalidIdentifierError, UnsupportedOperationError } from '../errors/usage-errors.js';
import type { PreludeStatement } from './pipelined-query.js';
import {
  MAX_BIND_PARAMETERS,
  runUnit,
  streamUnit,
  wireState,
  type UnitError,
  type UnitResult,
  type WireState,
  type WireStatement,
} from './protocol-query.js';
import { classifyStatement, type StatementVerdict } from './statement-classifier.js';
import type { SessionScope } from './session-scope.js';
import type { SharedPool } from './pool-handle.js';

const MUTATIONS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/**
 * Session state a unit may leave, reset inside its own transaction (transaction
 * pooler mode, after a unit that ran an untrusted statement): the server
 * connection goes back to PgBouncer's pool at the end of the transaction, so
 * `DISCARD ALL` (which cannot run in a transaction) is PgBouncer's job
 * (`server_reset_query`), and this is the part we can do ourselves.
 */
const IN_TRANSACTION_CLEANUP: readonly WireStatement[] = [
  'reset all', // first: a session statement_timeout of 1 ms must not kill the rest
  'reset role',
  'close all',
  'unlisten *',
  'select pg_advisory_unlock_all()',
  'deallocate all',
].map((text) => ({ text, values: [] }));

const COMMIT: WireStatement = { text: 'commit', values: [] };

/**
 * Refuses statements that set the tenant themselves: `SET`/`RESET app.tenant_id`,
 * and any `set_config` whose setting name is `app.tenant_id` or not a plain
 * literal (a bound parameter or expression could name it). The SQL is lexed
 * (strings, `E''`, `U&` escapes, dollar quotes, nested comments, quoted
 * identifiers), so literals that merely mention `app.tenant_id` pass. This is an
 * early, clear error, not the security boundary (the database's tenant proof is).
 *
 * @throws {@link UnsupportedOperationError}
 */
export function assertNoTenantWrite(sql: string): void {
  if (classifyStatement(sql).tenantWrite) throw tenantWriteError();
}

function tenantWriteError(): UnsupportedOperationError {
  return new UnsupportedOperationError('statements must not set app.tenant_id themselves; use forTenant/withTenant');
}

/** The checks every statement from user code passes before it is sent. */
function assertAllowed(v: StatementVerdict): void {
  if (v.tenantWrite) throw tenantWriteError();
  if (v.transactionControl) {
    throw new UnsupportedOperationError(
      'transaction control statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE…) are refused: the data source owns transaction boundaries; use withTenant, db.transaction(), startTransaction() and trx.savepoint()',
    );
  }
  if (v.multiStatement) {
    throw new UnsupportedOperationError(
      'one statement per query: statements go out with the extended protocol (bound parameters, tenant in the same round trip); run them one by one or pass them to batchWithTenant',
    );
  }
}

/**
 * Quotes a savepoint name: any name of 1-63 characters without NUL is accepted
 * (`"sp-1"`, `"my savepoint"`); embedded `"` are doubled.
 *
 * @throws {@link InvalidIdentifierError}
 */
export function quoteSavepointName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidIdentifierError('empty savepoint name');
  if (Buffer.byteLength(name) > 63) throw new InvalidIdentifierError('savepoint name longer than 63 bytes');
  if (name.includes('\0')) throw new InvalidIdentifierError('savepoint name contains NUL');
  return `"${name.replaceAll('"', '""')}"`;
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
 *   transaction ran no statement), and its command tag is checked.
 *
 * Hygiene: after every round trip the server's transaction status byte is
 * known; a connection that is not idle when released is destroyed. A checkout
 * that ran any untrusted statement (see {@link classifyStatement}) is cleaned:
 * `DISCARD ALL` in direct mode before the connection goes back to the pool, the
 * in-transaction cleanup behind a transaction pooler.
 *
 * @internal
 */
export class ScopedConnection implements DatabaseConnection {
  readonly client: pg.PoolClient;
  readonly #scope: SessionScope;
  readonly #shared: SharedPool;
  readonly #wire: WireState;
  readonly #transactionPooler: boolean;
  #state: 'idle' | 'pending' | 'open' = 'idle';
  #begin: PreludeStatement | undefined;
  /** False once this checkout ran a statement that may leave session state. */
  #trusted = true;
  /** The first error inside the open transaction (the cause when COMMIT turns into ROLLBACK). */
  #abortCause: unknown;
  /** Destroy instead of returning to the pool (unknown server-side state). */
  discard = false;

  constructor(client: pg.PoolClient, scope: SessionScope, shared: SharedPool) {
    this.client = client;
    this.#scope = scope;
    this.#shared = shared;
    this.#wire = wireState(client);
    this.#transactionPooler = shared.options.poolerMode === 'transaction';
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
    this.#abortCause = undefined;
  }

  /**
   * Ends the transaction (`COMMIT`/`ROLLBACK`) if one was opened on the server.
   *
   * @throws {@link TransactionRolledBackError} when the server answered COMMIT with ROLLBACK
   */
  async end(command: 'commit' | 'rollback'): Promise<void> {
    const wasOpen = this.#state === 'open';
    this.#state = 'idle';
    if (!wasOpen) return;
    const tag = await this.#endCommand(command);
    if (command === 'commit' && tag !== 'COMMIT') throw new TransactionRolledBackError(this.#abortCause);
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.#execute<R>(compiledQuery, false);
  }

  /** Runs one of the driver's own statements (savepoints): not refused, not counted as untrusted. */
  executeInternal(sql: string): Promise<QueryResult<unknown>> {
    return this.#execute(CompiledQuery.raw(sql), true);
  }

  async #execute<R>(compiledQuery: CompiledQuery, internal: boolean): Promise<QueryResult<R>> {
    const hooks = this.#shared.instrumentation;
    const t0 = hooks?.onQuery ? performance.now() : 0;
    try {
      const text = compiledQuery.sql;
      const values = compiledQuery.parameters;
      const verdict = classifyStatement(text);
      if (!internal) {
        assertAllowed(verdict);
        if (!verdict.trusted) this.#trusted = false;
      }
      if (values.length > MAX_BIND_PARAMETERS) throw new TooManyParametersError(values.length);
      // untrusted texts are never auto-prepared: they are rare, and the cleanup drops prepared statements anyway
      const name = verdict.trusted ? this.#shared.statementNames?.nameFor(text) : undefined;
      const st: WireStatement = name ? { text, values, name } : { text, values };
      return toKyselyResult<R>(await this.#send(st, 2 + this.#scope.prelude.length));
    } finally {
      if (hooks?.onQuery) hooks.onQuery((performance.now() - t0) / 1000);
    }
  }

  /** Sends one statement with whatever the connection's state requires around it. */
  async #send(st: WireStatement, retries: number): Promise<pg.QueryResult> {
    const before = this.#state;
    if (before === 'idle' && this.#transactionPooler && !this.#trusted) return (await this.#runUntrustedBehindPooler([st]))[0]!;
    const prelude: readonly WireStatement[] =
      before === 'pending' ? [this.#begin!, ...this.#scope.prelude] : before === 'idle' ? this.#scope.prelude : [];
    // statements issued concurrently on one transaction (Promise.all on trx) queue behind this one: only one BEGIN
    if (before === 'pending') this.#state = 'open';
    try {
      const { results } = await runUnit(this.client, prelude, [st], []);
      this.#afterRoundTrip(before);
      if (before === 'idle' && this.#wire.transactionStatus !== 'I') {
        this.discard = true;
        throw new UnsupportedOperationError(
          'the statement left a transaction open on the connection (its effects were not committed); the data source owns transaction boundaries: use withTenant / db.transaction()',
        );
      }
      return results[0]!;
    } catch (e) {
      if (e instanceof UnsupportedOperationError) throw e;
      this.#afterRoundTrip(before);
      const err = e as UnitError;
      if (err.code === '26000') return this.#recoverLostStatement(before, prelude, st, e, retries);
      const mapped = mapDatabaseError(e);
      // 0A000 "cached plan must not change result type": a prepared statement went stale after DDL;
      // drop the connection so that its replacement parses the statement afresh.
      if (err.code === '0A000' || mapped instanceof ConnectionLostError) this.discard = true;
      if (this.#state === 'open' && this.#wire.transactionStatus === 'E') this.#abortCause ??= mapped;
      throw mapped;
    }
  }

  /**
   * Untrusted work outside a transaction behind a transaction pooler (an
   * autocommit statement, or a batch) runs as its own explicit transaction,
   * `[BEGIN, prelude, statements…] + Sync`, ended by
   * `[COMMIT|ROLLBACK, cleanup…] + Sync`: PgBouncer keeps the server
   * connection while the transaction is open, so the cleanup runs on the same
   * server session even when a statement FAILED (a session advisory lock or
   * setting taken before the error is released too). One round trip more
   * than trusted work; untrusted statements are rare.
   */
  async #runUntrustedBehindPooler(statements: readonly WireStatement[], begin = 'begin'): Promise<pg.QueryResult[]> {
    let results: pg.QueryResult[] = [];
    let failure: unknown;
    try {
      ({ results } = await runUnit(this.client, [{ text: begin, values: [] }, ...this.#scope.prelude], statements, []));
    } catch (e) {
      failure = e;
    }
    if (this.#wire.transactionStatus === 'I' || this.#wire.transactionStatus === null) {
      // nothing is open (the connection died, or BEGIN itself failed): the server session is not ours to clean
      this.discard = true;
      throw mapDatabaseError(failure ?? new Error('the transaction pooler closed the transaction before its cleanup'));
    }
    let tag: string;
    try {
      tag = await this.#endCommand(failure === undefined ? 'commit' : 'rollback');
    } catch (e) {
      throw failure === undefined ? e : mapDatabaseError(failure);
    }
    if (failure !== undefined) throw mapDatabaseError(failure);
    // a deferred constraint can still fail at COMMIT: then nothing was written
    if (tag !== 'COMMIT') throw new TransactionRolledBackError();
    return results;
  }

  /**
   * Sends `COMMIT`/`ROLLBACK` and returns the server's command tag. Behind a
   * transaction pooler, after an untrusted statement, the cleanup shares its
   * Sync: PgBouncer keeps the server connection until the cleanup ran, whether
   * the transaction committed, was rolled back, or had failed (COMMIT → ROLLBACK).
   * When only the cleanup after it failed, the tag is still returned and the
   * connection is dropped.
   */
  async #endCommand(command: 'commit' | 'rollback'): Promise<string> {
    try {
      if (this.#transactionPooler && !this.#trusted) {
        return (await runUnit(this.client, [], [], [{ text: command, values: [] }, ...IN_TRANSACTION_CLEANUP])).postludeTags[0] ?? '';
      }
      return (await this.client.query(command)).command;
    } catch (e) {
      this.discard = true;
      const tag = (e as UnitError).postludeTags?.[0];
      if (tag === undefined) throw mapDatabaseError(e);
      return tag;
    }
  }

  /** Updates the transaction state from the status byte of the last ReadyForQuery. */
  #afterRoundTrip(before: 'idle' | 'pending' | 'open'): void {
    const status = this.#wire.transactionStatus;
    if (before === 'pending') this.#state = status === 'I' ? 'pending' : 'open';
  }

  /**
   * `26000 prepared statement … does not exist`: forget that name and run the round trip again (once per
   * named statement in it) when nothing of the unit has happened yet
   * (autocommit statement, or the transaction's first statement); otherwise
   * the transaction is lost: typed error, connection replaced.
   */
  async #recoverLostStatement(
    before: 'idle' | 'pending' | 'open',
    prelude: readonly WireStatement[],
    st: WireStatement,
    error: unknown,
    retries: number,
  ): Promise<pg.QueryResult> {
    this.#forgetLostStatement(error, [...prelude, st]);
    if (retries > 0 && before !== 'open') {
      await this.#rollbackFailedRoundTrip();
      this.#state = before;
      return this.#send(st, retries - 1);
    }
    this.discard = true;
    const e = error as Error & { code?: string };
    throw new PreparedStatementLostError(e.message, { sqlState: '26000' }, error);
  }

  /**
   * After `26000 prepared statement "<name>" does not exist`: forgets that one
   * name (the others are still prepared on the server, and parsing them again
   * would fail with `42P05`), or every name sent when the message names none.
   */
  #forgetLostStatement(error: unknown, sent: readonly WireStatement[]): void {
    const missing = /prepared statement "([^"]+)" does not exist/.exec((error as Error).message)?.[1];
    for (const s of sent) if (s.name && (missing === undefined || s.name === missing)) this.#wire.prepared.delete(s.name);
  }

  /** Ends the transaction block a failed round trip left (an explicit `BEGIN` in it) before it is sent again. */
  async #rollbackFailedRoundTrip(): Promise<void> {
    if (this.#wire.transactionStatus === 'I') return;
    try {
      await this.client.query('rollback');
    } catch (e) {
      this.discard = true;
      throw mapDatabaseError(e);
    }
  }

  /**
   * Runs `queries` as one atomic unit in ONE round trip: `[prelude, q1…qn] + Sync`
   * (an implicit transaction), or `[BEGIN <settings>, prelude, q1…qn, COMMIT] + Sync`
   * when transaction settings are given. Any error rolls the whole unit back.
   */
  async executeBatch(queries: readonly CompiledQuery[], settings: TransactionSettings): Promise<Array<QueryResult<unknown>>> {
    if (this.#state !== 'idle') throw new UnsupportedOperationError('a batch cannot run inside a transaction');
    const explicit = settings.isolationLevel !== undefined || settings.accessMode !== undefined;
    const names = this.#shared.statementNames;
    const statements = queries.map((q): WireStatement => {
      const verdict = classifyStatement(q.sql);
      assertAllowed(verdict);
      if (!verdict.trusted) this.#trusted = false;
      if (q.parameters.length > MAX_BIND_PARAMETERS) throw new TooManyParametersError(q.parameters.length);
      const name = verdict.trusted ? names?.nameFor(q.sql) : undefined;
      return { text: q.sql, values: q.parameters, ...(name ? { name } : {}) };
    });
    if (this.#transactionPooler && !this.#trusted) {
      return (await this.#runUntrustedBehindPooler(statements, beginText(settings))).map((r) => toKyselyResult(r));
    }
    const prelude: WireStatement[] = explicit
      ? [{ text: beginText(settings), values: [] }, ...this.#scope.prelude]
      : [...this.#scope.prelude];
    const postlude = explicit ? [COMMIT] : [];
    const { results, postludeTags: tags } = await this.#runBatch(prelude, statements, postlude);
    if (explicit && tags.at(-1) !== 'COMMIT') throw new TransactionRolledBackError();
    if (this.#wire.transactionStatus !== 'I') {
      this.discard = true;
      throw new UnsupportedOperationError('the batch left a transaction open on the connection (its effects were not committed)');
    }
    return results.map((r) => toKyselyResult(r));
  }

  /**
   * Sends a batch's round trip. A batch is atomic, so when a named statement
   * turned out lost (26000) nothing of it happened: that name is forgotten
   * and the round trip sent again (once per named statement in it; then the
   * connection is replaced). A stale statement (0A000) or a lost connection
   * replaces the connection, as for single statements.
   */
  async #runBatch(
    prelude: readonly WireStatement[],
    statements: readonly WireStatement[],
    postlude: readonly WireStatement[],
    retries = prelude.length + statements.length,
  ): Promise<UnitResult> {
    try {
      return await runUnit(this.client, prelude, statements, postlude);
    } catch (e) {
      const err = e as UnitError;
      if (err.code === '26000') {
        this.#forgetLostStatement(e, [...prelude, ...statements]);
        if (retries > 0) {
          await this.#rollbackFailedRoundTrip();
          return this.#runBatch(prelude, statements, postlude, retries - 1);
        }
      }
      const mapped = mapDatabaseError(e);
      if (err.code === '0A000' || err.code === '26000' || mapped instanceof ConnectionLostError) this.discard = true;
      throw mapped;
    }
  }

  /**
   * Streams a query's rows `chunkSize` at a time without a cursor: the portal
   * is executed with a row limit and the next chunk is fetched only when the
   * consumer asks (see {@link streamUnit}); the tenant prelude rides in front as
   * usual. Behind a transaction pooler, an untrusted statement outside a
   * transaction is run whole and yielded in chunks (its cleanup must share its
   * Sync).
   */
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const size = Math.max(1, Math.floor(chunkSize));
    const verdict = classifyStatement(compiledQuery.sql);
    assertAllowed(verdict);
    if (!verdict.trusted) this.#trusted = false;
    if (compiledQuery.parameters.length > MAX_BIND_PARAMETERS) throw new TooManyParametersError(compiledQuery.parameters.length);
    const before = this.#state;
    if (this.#transactionPooler && !this.#trusted && before === 'idle') {
      const { rows } = await this.executeQuery<R>(compiledQuery);
      for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
      return;
    }
    const prelude: readonly WireStatement[] =
      before === 'pending' ? [this.#begin!, ...this.#scope.prelude] : before === 'idle' ? this.#scope.prelude : [];
    if (before === 'pending') this.#state = 'open';
    let completed = false;
    try {
      for await (const rows of streamUnit(this.client, prelude, { text: compiledQuery.sql, values: compiledQuery.parameters }, size)) {
        yield { rows: rows as R[] };
      }
      completed = true;
    } catch (e) {
      const mapped = mapDatabaseError(e);
      if (mapped instanceof ConnectionLostError) this.discard = true;
      this.#afterRoundTrip(before);
      if (this.#state === 'open' && this.#wire.transactionStatus === 'E') this.#abortCause ??= mapped;
      throw mapped;
    } finally {
      this.#afterRoundTrip(before);
      if (before === 'idle' && this.#wire.transactionStatus !== 'I') this.discard = true;
    }
    if (completed && this.discard && before === 'idle') {
      throw new UnsupportedOperationError('the statement left a transaction open on the connection (its effects were not committed)');
    }
  }

  /** Returns the client to the pool, cleaned, or destroys it when its state is unknown or not idle. */
  async release(): Promise<void> {
    let destroy = this.discard || this.#state === 'open' || this.#wire.transactionStatus !== 'I';
    if (!destroy && !this.#trusted && !this.#transactionPooler) {
      try {
        await this.client.query('discard all');
        this.#wire.prepared.clear();
      } catch {
        destroy = true;
      }
    }
    this.client.removeListener('error', this.#onError);
    this.client.release(destroy || this.discard ? true : undefined);
  }
}

/**
 * Checks a connection out of `shared` and wraps it in a {@link ScopedConnection}
 * applying `scope`: the one way both Kysely (through {@link ScopedDriver}) and
 * `batchWithTenant` get a connection. Times the wait for the pool's
 * `onAcquire` hook; give the connection back with `release()`.
 *
 * @throws {@link PoolTimeoutError} or another mapped error when no connection could be had
 * @example
 * ```ts
 * const connection = await acquireScopedConnection(shared, scope);
 * try {
 *   await connection.executeBatch(queries, {});
 * } finally {
 *   await connection.release();
 * }
 * ```
 * @internal
 */
export async function acquireScopedConnection(shared: SharedPool, scope: SessionScope): Promise<ScopedConnection> {
  const hooks = shared.instrumentation;
  const t0 = hooks?.onAcquire ? performance.now() : 0;
  let client: pg.PoolClient;
  try {
    client = await shared.pool.connect();
  } catch (e) {
    throw mapDatabaseError(e);
  } finally {
    if (hooks?.onAcquire) hooks.onAcquire((performance.now() - t0) / 1000);
  }
  return new ScopedConnection(client, scope, shared);
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

  acquireConnection(): Promise<DatabaseConnection> {
    return acquireScopedConnection(this.#shared, this.#scope);
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
    await (connection as ScopedConnection).executeInternal(`savepoint ${quoteSavepointName(name)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as ScopedConnection).executeInternal(`rollback to savepoint ${quoteSavepointName(name)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as ScopedConnection).executeInternal(`release savepoint ${quoteSavepointName(name)}`);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await (connection as ScopedConnection).release();
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

  constructor(shared: SharedPool, scope: SessionScope) {
    this.#shared = shared;
    this.#scope = scope;
  }

  createDriver(): Driver {
    return new ScopedDriver(this.#shared, this.#scope);
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
