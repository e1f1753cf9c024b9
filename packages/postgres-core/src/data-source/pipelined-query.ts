import type pg from 'pg';
import { PreludeQuery, sendStatement, type ProtocolConnection } from './protocol-query.js';

/** One statement sent ahead of the user's statement in the same round trip. */
export interface PreludeStatement {
  /** SQL text; values are bound (`$1`…), never interpolated. */
  readonly text: string;
  /** Bound values (strings or null). */
  readonly values: ReadonlyArray<string | null>;
  /** Name of a server-side prepared statement (parsed once per connection), or undefined for the unnamed one. */
  readonly name?: string;
}

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
export class PipelinedQuery extends PreludeQuery {
  readonly #prelude: readonly PreludeStatement[];

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
    super({ text, values: values as unknown[], queryMode: 'extended', ...(name ? { name } : {}) } as pg.QueryConfig, callback as (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void, prelude.length);
    this.#prelude = prelude;
  }

  override requiresPreparation(): boolean {
    return true;
  }

  override submit(connection: ProtocolConnection): Error | null {
    connection.stream.cork?.();
    try {
      for (const st of this.#prelude) sendStatement(connection, st, false);
      this.prepare(connection);
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  override handleError(err: Error, connection: ProtocolConnection): void {
    if (this.inPrelude) this.preludeFailed = true;
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
