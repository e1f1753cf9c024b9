import { createRequire } from 'node:module';
import pg from 'pg';

/** The parts of pg's (untyped) protocol connection the unit query writes to. @internal */
export interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name?: string; types?: unknown[] }): void;
  bind(msg: { statement?: string; portal?: string; values: readonly unknown[]; valueMapper?: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
  flush(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

/** The parts of pg's `Query` the unit query overrides (not in @types/pg). */
interface QueryInternals {
  submit(connection: ProtocolConnection): Error | null;
  handleRowDescription(msg: unknown): void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: { text: string }, connection: ProtocolConnection): void;
  handleEmptyQuery(connection: ProtocolConnection): void;
  handleError(err: Error, connection: ProtocolConnection): void;
  handleReadyForQuery(connection: ProtocolConnection): void;
  handlePortalSuspended(connection: ProtocolConnection): void;
  requiresPreparation(): boolean;
}

type QueryCallback = (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void;
type QueryCtor = new (config: pg.QueryConfig | string, values?: unknown, callback?: QueryCallback) => QueryInternals;
const BaseQuery = pg.Query as unknown as QueryCtor;

/** pg's own conversion of bound values (dates, buffers, arrays, JSON). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

const encode = (v: unknown): unknown => prepareValue(v);

/** The most bind parameters one protocol message can carry (Int16 count). */
export const MAX_BIND_PARAMETERS = 65_535;

/** A statement as the protocol sends it: text, bound values, optional server-side name. */
export interface WireStatement {
  readonly text: string;
  readonly values: readonly unknown[];
  readonly name?: string;
}

/** A named statement the server confirmed, and the row description its portals return once seen. @internal */
export interface PreparedStatementInfo {
  /** The statement's SQL text. */
  readonly text: string;
  /** pg's parsed RowDescription message of the statement's portal (text format), or {@link NO_ROWS}, once a Describe answered it. */
  rowDescription?: unknown;
}

/** The Describe of a statement returning no rows (NoData: an INSERT without RETURNING). */
const NO_ROWS: unique symbol = Symbol('NoData');

/**
 * What the driver knows about one pg client's server session: the named
 * statements the server CONFIRMED (ParseComplete received), the Parse messages
 * in flight, and the queries waiting for their ReadyForQuery.
 *
 * A named statement counts as prepared only once its own ParseComplete
 * arrived: a Parse that failed (table missing, lock timeout) or was skipped
 * after an earlier error is never taken for prepared, so it is parsed again
 * next time instead of failing with `26000 prepared statement does not exist`.
 *
 * Its row description is kept with it (like Npgsql's auto-prepare): later
 * executions send no Describe, so the server builds no RowDescription and the
 * client parses none. It lives exactly as long as the entry: a statement
 * forgotten (26000, cleanup after untrusted SQL) or parsed again starts
 * without one, and a statement whose result type changed fails with 0A000,
 * after which the connection is dropped.
 *
 * @internal
 */
export class WireState {
  /** Confirmed prepared statements by name. */
  readonly prepared = new Map<string, PreparedStatementInfo>();
  readonly #inflight: UnitQuery[] = [];
  readonly #client: pg.ClientBase;

  constructor(client: pg.ClientBase) {
    this.#client = client;
    const connection = (client as unknown as { connection: ProtocolConnection }).connection;
    connection.on('parseComplete', () => this.#inflight[0]?.onParseComplete(this));
    connection.on('noData', () => this.#inflight[0]?.onNoData());
    // pg's own handler ran first (it records the status byte and may already submit the next query)
    connection.on('readyForQuery', () => this.#inflight.shift()?.onReadyForQuery());
    const flush = (): void => {
      for (const q of this.#inflight.splice(0)) q.onConnectionLost();
    };
    connection.on('end', flush);
    connection.on('error', flush);
  }

  /** The server's transaction status from the last ReadyForQuery: `I` idle, `T` in a transaction, `E` failed transaction. */
  get transactionStatus(): string | null {
    return (this.#client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus();
  }

  /** @internal */
  track(q: UnitQuery): void {
    this.#inflight.push(q);
  }
}

const STATES = new WeakMap<pg.ClientBase, WireState>();

/** The {@link WireState} of `client` (created, with its listeners, on first use). @internal */
export function wireState(client: pg.ClientBase): WireState {
  let s = STATES.get(client);
  if (!s) {
    s = new WireState(client);
    STATES.set(client, s);
  }
  return s;
}

/** Where in the unit an error arrived. */
export type UnitPhase = 'prelude' | 'statement' | 'postlude';

/** An error of a unit query, with where it happened. @internal */
export type UnitError = Error & { phase?: UnitPhase; code?: string; postludeTags?: readonly string[] };

/**
 * A pg `Query` that sends `prelude`, `statements` and `postlude` as ONE
 * extended-protocol pipeline with a single Sync (one round trip). Prelude and
 * postlude results are swallowed (the postlude's command tags are kept, to read
 * what a `COMMIT` really did); the callback receives one result per statement.
 *
 * Values are converted BEFORE anything is written: a value pg cannot serialise
 * fails the unit without touching the connection. A server error is delivered
 * only once the ReadyForQuery that follows it arrived, so the caller always
 * knows the server's transaction status when it handles the error.
 *
 * @internal
 */
export class UnitQuery extends BaseQuery {
  readonly #prelude: readonly WireStatement[];
  readonly #statements: readonly WireStatement[];
  readonly #postlude: readonly WireStatement[];
  readonly #state: WireState;
  readonly #onDone: QueryCallback;
  /** Named statements this pipeline parses, in Parse order (undefined = unnamed). */
  readonly #parses: Array<WireStatement | undefined> = [];
  /** Per statement: the cached row description sent in place of a Describe (undefined: the server describes it). */
  readonly #knownRows: unknown[] = [];
  /** Index of the last statement whose row description pg's Query received. */
  #describedIndex = -1;
  #completed = 0;
  #error: UnitError | undefined;
  #settled = false;
  /** Command tags of the postlude statements, in order. */
  readonly postludeTags: string[] = [];
  /** Streaming: rows per Execute, and where each chunk goes (see {@link streamUnit}). */
  readonly #fetchSize: number | undefined;
  readonly #onChunk: ((rows: unknown[]) => void) | undefined;
  #connection: ProtocolConnection | undefined;

  constructor(
    state: WireState,
    prelude: readonly WireStatement[],
    statements: readonly WireStatement[],
    postlude: readonly WireStatement[],
    callback: QueryCallback,
    stream?: { fetchSize: number; onChunk: (rows: unknown[]) => void },
  ) {
    const finish: { to?: UnitQuery } = {};
    // a string config: pg copies an object config property by property on every query (measured ~2 µs a
    // statement); the extended protocol is forced by requiresPreparation() below
    super(statements[0]?.text ?? '', undefined, (err, res) => finish.to!.#finish(err, res));
    finish.to = this;
    // streaming: Execute with a row limit, and pg's Query sends the Sync after the last row
    if (stream) (this as unknown as { rows: number }).rows = stream.fetchSize;
    this.#fetchSize = stream?.fetchSize;
    this.#onChunk = stream?.onChunk;
    this.#state = state;
    this.#prelude = prelude;
    this.#statements = statements;
    this.#postlude = postlude;
    this.#onDone = callback;
  }

  override requiresPreparation(): boolean {
    return true;
  }

  override submit(connection: ProtocolConnection): Error | null {
    let statements: unknown[][];
    try {
      statements = this.#statements.map((st) => st.values.map(encode));
    } catch (e) {
      return e as Error; // nothing written: the connection is untouched
    }
    const pending: string[] = [];
    connection.stream.cork?.();
    try {
      // prelude and postlude values are strings or null (no conversion can fail)
      for (const st of this.#prelude) this.#send(connection, st, st.values, false, pending);
      for (let k = 0; k < statements.length; k++) this.#send(connection, this.#statements[k]!, statements[k]!, true, pending);
      for (const st of this.#postlude) this.#send(connection, st, st.values, false, pending);
      if (this.#fetchSize === undefined) connection.sync();
      else connection.flush(); // streaming: the Sync follows the last row (pg's Query sends it on CommandComplete)
      this.#connection = connection;
    } finally {
      connection.stream.uncork?.();
    }
    this.#state.track(this);
    return null;
  }

  #send(connection: ProtocolConnection, st: WireStatement, values: readonly unknown[], describe: boolean, pending: string[]): void {
    const name = st.name;
    const prepared = name === undefined ? undefined : this.#state.prepared.get(name);
    if (name === undefined) {
      connection.parse({ text: st.text, name: '', types: [] });
      this.#parses.push(undefined);
    } else if (prepared === undefined && !pending.includes(name)) {
      connection.parse({ text: st.text, name, types: [] });
      this.#parses.push(st);
      pending.push(name);
    }
    connection.bind({ statement: name ?? '', portal: '', values });
    if (describe) {
      // a confirmed statement's row description stands in for the Describe (never when streaming: its chunks
      // follow pg's own flow)
      const known = this.#fetchSize === undefined ? prepared?.rowDescription : undefined;
      this.#knownRows.push(known);
      if (known === undefined) connection.describe({ type: 'P', name: '' });
    }
    connection.execute({ portal: '', rows: describe ? (this.#fetchSize ?? 0) : 0 });
  }

  /** Index of the statement the next result belongs to. */
  get #statementIndex(): number {
    return this.#completed - this.#prelude.length;
  }

  /** Hands pg's Query the cached row description of the current statement, once, before its first row or its end. */
  #deliverKnownRows(): void {
    const k = this.#statementIndex;
    if (this.#describedIndex === k) return;
    this.#describedIndex = k;
    const known = this.#knownRows[k];
    if (known !== undefined && known !== NO_ROWS) super.handleRowDescription(known);
  }

  /** Where the next result belongs. */
  get #phase(): UnitPhase {
    if (this.#completed < this.#prelude.length) return 'prelude';
    if (this.#completed < this.#prelude.length + this.#statements.length) return 'statement';
    return 'postlude';
  }

  /** @internal */
  onParseComplete(state: WireState): void {
    const st = this.#parses.shift();
    if (st?.name !== undefined) state.prepared.set(st.name, { text: st.text });
  }

  override handleRowDescription(msg: unknown): void {
    if (this.#phase !== 'statement') return;
    this.#remember(msg);
    super.handleRowDescription(msg);
  }

  /** @internal A Describe answered NoData: the statement returns no rows. */
  onNoData(): void {
    if (this.#phase === 'statement') this.#remember(NO_ROWS);
  }

  /** Keeps the current statement's row description with its prepared statement. */
  #remember(description: unknown): void {
    const k = this.#statementIndex;
    this.#describedIndex = k;
    const st = this.#statements[k];
    const entry = st?.name === undefined ? undefined : this.#state.prepared.get(st.name);
    if (entry !== undefined && entry.text === st!.text) entry.rowDescription = description;
  }

  override handleDataRow(msg: unknown): void {
    if (this.#phase !== 'statement') return;
    this.#deliverKnownRows();
    super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: { text: string }, connection: ProtocolConnection): void {
    const phase = this.#phase;
    if (phase === 'statement') this.#deliverKnownRows();
    this.#completed++;
    if (phase === 'statement') super.handleCommandComplete(msg, connection);
    else if (phase === 'postlude') this.postludeTags.push(msg.text.split(' ')[0] ?? msg.text);
  }

  override handleEmptyQuery(connection: ProtocolConnection): void {
    const phase = this.#phase;
    this.#completed++;
    // an empty statement (only a comment) answers EmptyQueryResponse and no CommandComplete: close its own
    // (empty) result as a CommandComplete would, so the results of the statements after it stay theirs
    if (phase === 'statement') super.handleCommandComplete({ text: 'EMPTY' }, connection);
  }

  /** Streaming: a chunk is complete; hand it over and wait for {@link UnitQuery.fetchMore}. */
  override handlePortalSuspended(): void {
    const result = (this as unknown as { _result: { rows: unknown[] } })._result;
    this.#onChunk?.(result.rows.splice(0));
  }

  /** Streaming: asks for the next chunk. */
  fetchMore(): void {
    this.#connection?.execute({ portal: '', rows: this.#fetchSize ?? 0 });
    this.#connection?.flush();
  }

  /** Streaming: the consumer stopped early; end the pipeline (the unnamed portal goes with it). */
  stopStreaming(): void {
    // not after the statement completed or failed: pg (or handleError) already sent that Sync
    if (this.#error === undefined && this.#completed < this.#prelude.length + this.#statements.length) this.#connection?.sync();
  }

  override handleError(err: Error, connection: ProtocolConnection): void {
    const e = err as UnitError;
    e.phase = this.#phase;
    // streaming sends no Sync up front: without one the server never answers ReadyForQuery
    if (this.#fetchSize !== undefined && err instanceof pg.DatabaseError) connection.sync();
    if (err instanceof pg.DatabaseError) {
      // a server ErrorResponse: the ReadyForQuery (with the transaction status) follows; deliver then
      this.#error ??= e;
      return;
    }
    super.handleError(err, connection);
  }

  /** @internal */
  onReadyForQuery(): void {
    if (this.#error) this.#finish(this.#error, undefined);
  }

  /** @internal */
  onConnectionLost(): void {
    this.#finish(this.#error ?? new Error('Connection terminated unexpectedly'), undefined);
  }

  #finish(err: Error | null, res: pg.QueryResult | pg.QueryResult[] | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    if (err) (err as UnitError).postludeTags = this.postludeTags;
    this.#onDone(err, res as pg.QueryResult | pg.QueryResult[]);
  }
}

/** Result of {@link runUnit}. @internal */
export interface UnitResult {
  /** One result per statement. */
  readonly results: pg.QueryResult[];
  /** Command tags of the postlude statements (e.g. `COMMIT` or `ROLLBACK`). */
  readonly postludeTags: readonly string[];
}

/**
 * Runs `prelude + statements + postlude` on `client` in one round trip.
 *
 * @internal
 */
export function runUnit(
  client: pg.ClientBase,
  prelude: readonly WireStatement[],
  statements: readonly WireStatement[],
  postlude: readonly WireStatement[] = [],
): Promise<UnitResult> {
  const state = wireState(client);
  return new Promise((resolve, reject) => {
    const q: UnitQuery = new UnitQuery(state, prelude, statements, postlude, (err, res) => {
      if (err) reject(err);
      else {
        const all = res === undefined ? [] : Array.isArray(res) ? res : [res];
        resolve({ results: all, postludeTags: q.postludeTags });
      }
    });
    (client as unknown as { query(x: unknown): void }).query(q);
  });
}

/**
 * Runs `prelude + statement` on `client` and yields the statement's rows
 * `fetchSize` at a time: Execute with a row limit, then Flush; the next chunk
 * is asked for only when the consumer wants it (PortalSuspended), and the Sync
 * follows the last row — so the whole run is one implicit (or the caller's
 * explicit) transaction, and the tenant prelude holds for every chunk. Memory
 * holds one chunk. Stopping early sends the Sync at once.
 *
 * @internal
 */
export async function* streamUnit(
  client: pg.ClientBase,
  prelude: readonly WireStatement[],
  statement: WireStatement,
  fetchSize: number,
): AsyncGenerator<unknown[], void, undefined> {
  const state = wireState(client);
  const chunks: unknown[][] = [];
  let suspended = false;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let query: UnitQuery | undefined;
  const signal = (): void => {
    wake?.();
    wake = undefined;
  };
  const done = new Promise<void>((resolve) => {
    const q = new UnitQuery(
      state,
      prelude,
      [statement],
      [],
      (err, res) => {
        if (err) failure = err;
        else {
          const last = Array.isArray(res) ? res.at(-1) : res;
          if (last && last.rows.length > 0) chunks.push(last.rows);
        }
        finished = true;
        signal();
        resolve();
      },
      {
        fetchSize,
        onChunk: (rows) => {
          if (rows.length > 0) chunks.push(rows);
          suspended = true;
          signal();
        },
      },
    );
    query = q;
    (client as unknown as { query(x: unknown): void }).query(q);
  });
  try {
    for (;;) {
      const next = chunks.shift();
      if (next) {
        yield next;
        continue;
      }
      if (finished) break;
      if (suspended) {
        suspended = false;
        query!.fetchMore();
        continue;
      }
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  } finally {
    if (!finished) {
      query!.stopStreaming();
      await done;
    }
  }
}
