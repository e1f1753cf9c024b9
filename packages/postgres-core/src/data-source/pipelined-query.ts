import pg from 'pg';

/** One statement sent ahead of the user's statement in the same round trip. */
export interface PreludeStatement {
  /** SQL text; values are bound (`$1`…), never interpolated. */
  readonly text: string;
  /** Bound values (strings or null). */
  readonly values: ReadonlyArray<string | null>;
  /** Name of a server-side prepared statement (parsed once per connection), or undefined for the unnamed one. */
  readonly name?: string;
}

/** The parts of pg's (untyped) protocol connection this module writes to. */
interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parsedStatements: Record<string, string | undefined>;
  parse(msg: { text: string; name?: string; types?: unknown[] }): void;
  bind(msg: { statement?: string; portal?: string; values: ReadonlyArray<string | null> }): void;
  execute(msg: { portal?: string; rows?: number }): void;
}

/** The parts of pg's `Query` this module overrides (not in @types/pg). */
interface QueryInternals {
  submit(connection: ProtocolConnection): Error | null;
  prepare(connection: ProtocolConnection): void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: ProtocolConnection): void;
  handleError(err: Error, connection: ProtocolConnection): void;
  requiresPreparation(): boolean;
}

type QueryCtor = new (config: pg.QueryConfig, values?: unknown, callback?: (err: Error | null, res: pg.QueryResult) => void) => QueryInternals;
const BaseQuery = pg.Query as unknown as QueryCtor;

/**
 * A `pg` query that sends prelude statements (e.g. `BEGIN` and the
 * transaction-local `set_config` calls) and the user's statement as ONE
 * extended-protocol pipeline: Parse/Bind/Execute for each prelude statement,
 * Parse/Bind/Describe/Execute for the user statement, then a single Sync.
 *
 * Without an explicit `BEGIN`, everything before the Sync runs in one implicit
 * transaction (PostgreSQL protocol semantics), so a `set_config(…, true)` in the
 * prelude applies to the user statement and ends with it. If any message fails,
 * the server skips the rest up to the Sync and rolls the implicit transaction back.
 *
 * The prelude's results are swallowed; the callback receives only the user
 * statement's result.
 *
 * @internal
 */
export class PipelinedQuery extends BaseQuery {
  readonly #prelude: readonly PreludeStatement[];
  #pendingPrelude: number;
  /** True when an error arrived before every prelude statement completed. */
  preludeFailed = false;

  /**
   * @param prelude statements to run first, in order
   * @param text user SQL
   * @param values user values
   * @param callback pg-style completion callback
   */
  constructor(
    prelude: readonly PreludeStatement[],
    text: string,
    values: readonly unknown[],
    callback: (err: Error | null, res: pg.QueryResult) => void,
    name?: string,
  ) {
    super({ text, values: values as unknown[], queryMode: 'extended', ...(name ? { name } : {}) } as pg.QueryConfig, undefined, callback);
    this.#prelude = prelude;
    this.#pendingPrelude = prelude.length;
  }

  override requiresPreparation(): boolean {
    return true;
  }

  override submit(connection: ProtocolConnection): Error | null {
    connection.stream.cork?.();
    try {
      for (const st of this.#prelude) {
        if (st.name === undefined) {
          connection.parse({ text: st.text, name: '', types: [] });
        } else if (connection.parsedStatements[st.name] === undefined) {
          connection.parse({ text: st.text, name: st.name, types: [] });
          // Marked now; if anything fails before the prelude completed, the
          // connection is discarded by the caller (see preludeFailed).
          connection.parsedStatements[st.name] = st.text;
        }
        connection.bind({ statement: st.name ?? '', portal: '', values: st.values });
        connection.execute({ portal: '', rows: 0 });
      }
      this.prepare(connection);
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  override handleDataRow(msg: unknown): void {
    if (this.#pendingPrelude > 0) return;
    super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: ProtocolConnection): void {
    if (this.#pendingPrelude > 0) {
      this.#pendingPrelude--;
      return;
    }
    super.handleCommandComplete(msg, connection);
  }

  override handleError(err: Error, connection: ProtocolConnection): void {
    if (this.#pendingPrelude > 0) this.preludeFailed = true;
    super.handleError(err, connection);
  }
}

/**
 * Runs `text` after `prelude` on `client` in one round trip (see {@link PipelinedQuery}).
 *
 * @internal
 */
export function queryWithPrelude(
  client: pg.ClientBase,
  prelude: readonly PreludeStatement[],
  text: string,
  values: readonly unknown[],
  name?: string,
): Promise<{ result: pg.QueryResult; query: PipelinedQuery }> {
  return new Promise((resolve, reject) => {
    const query: PipelinedQuery = new PipelinedQuery(prelude, text, values, (err, result) => {
      if (err) {
        (err as Error & { preludeFailed?: boolean }).preludeFailed = query.preludeFailed;
        reject(err);
      } else resolve({ result, query });
    }, name);
    (client as unknown as { query(q: unknown): void }).query(query);
  });
}
