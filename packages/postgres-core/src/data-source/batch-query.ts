import type pg from 'pg';
import type { PreludeStatement } from './pipelined-query.js';
import { PreludeQuery, sendStatement, type ProtocolConnection } from './protocol-query.js';

/** One user statement of a batch. */
export interface BatchStatement {
  /** SQL text with `$n` placeholders. */
  readonly text: string;
  /** Bound values (converted like pg does: dates, buffers, arrays, JSON). */
  readonly values: readonly unknown[];
  /** Server-side prepared statement name, or undefined for the unnamed one. */
  readonly name?: string;
}

/**
 * Sends `prelude`, then every statement, then `postlude`, as ONE pipeline with a
 * single Sync: one round trip for the whole unit. Prelude/postlude results are
 * swallowed; the callback receives one result per statement.
 *
 * @internal
 */
export class BatchQuery extends PreludeQuery {
  readonly #prelude: readonly PreludeStatement[];
  readonly #statements: readonly BatchStatement[];
  readonly #postlude: readonly PreludeStatement[];

  constructor(
    prelude: readonly PreludeStatement[],
    statements: readonly BatchStatement[],
    postlude: readonly PreludeStatement[],
    callback: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void,
  ) {
    super({ text: statements[0]?.text ?? '', queryMode: 'extended' } as pg.QueryConfig, callback, prelude.length);
    this.#prelude = prelude;
    this.#statements = statements;
    this.#postlude = postlude;
  }

  override submit(connection: ProtocolConnection): Error | null {
    connection.stream.cork?.();
    try {
      for (const st of this.#prelude) sendStatement(connection, st, false);
      for (const st of this.#statements) sendStatement(connection, st, true);
      for (const st of this.#postlude) sendStatement(connection, st, false);
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  override handleError(err: Error, connection: ProtocolConnection): void {
    // Named statements were marked parsed optimistically: any error makes the caller discard the connection.
    this.preludeFailed = true;
    super.handleError(err, connection);
  }

  /** Number of user statements. */
  get statementCount(): number {
    return this.#statements.length;
  }
}

/**
 * Runs a batch on `client` in one round trip; resolves with one result per statement.
 *
 * @internal
 */
export function runBatch(
  client: pg.ClientBase,
  prelude: readonly PreludeStatement[],
  statements: readonly BatchStatement[],
  postlude: readonly PreludeStatement[],
): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    const q: BatchQuery = new BatchQuery(prelude, statements, postlude, (err, res) => {
      if (err) {
        (err as Error & { preludeFailed?: boolean }).preludeFailed = true;
        reject(err);
        return;
      }
      const all = Array.isArray(res) ? res : [res];
      resolve(all.slice(0, statements.length));
    });
    (client as unknown as { query(x: unknown): void }).query(q);
  });
}
