import { createRequire } from 'node:module';
import pg from 'pg';
import type { PreludeStatement } from './pipelined-query.js';

/** One user statement of a batch. */
export interface BatchStatement {
  /** SQL text with `$n` placeholders. */
  readonly text: string;
  /** Bound values (converted like pg does: dates, buffers, arrays, JSON). */
  readonly values: readonly unknown[];
  /** Server-side prepared statement name, or undefined for the unnamed one. */
  readonly name?: string;
}

interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parsedStatements: Record<string, string | undefined>;
  parse(msg: { text: string; name?: string; types?: unknown[] }): void;
  bind(msg: { statement?: string; portal?: string; values: readonly unknown[]; valueMapper?: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
}

interface QueryInternals {
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: ProtocolConnection): void;
  handleError(err: Error, connection: ProtocolConnection): void;
}

type QueryCtor = new (config: pg.QueryConfig, values?: unknown, callback?: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void) => QueryInternals;
const BaseQuery = pg.Query as unknown as QueryCtor;
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

/**
 * Sends `prelude`, then every statement, then `postlude`, as ONE pipeline with a
 * single Sync: one round trip for the whole unit. Prelude/postlude results are
 * swallowed; the callback receives one result per statement.
 *
 * @internal
 */
export class BatchQuery extends BaseQuery {
  readonly #prelude: readonly PreludeStatement[];
  readonly #statements: readonly BatchStatement[];
  readonly #postlude: readonly PreludeStatement[];
  #pendingPrelude: number;
  /** True when an error arrived before the prelude completed (connection state unknown). */
  preludeFailed = false;

  constructor(
    prelude: readonly PreludeStatement[],
    statements: readonly BatchStatement[],
    postlude: readonly PreludeStatement[],
    callback: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void,
  ) {
    super({ text: statements[0]?.text ?? '', queryMode: 'extended' } as pg.QueryConfig, undefined, callback);
    this.#prelude = prelude;
    this.#statements = statements;
    this.#postlude = postlude;
    this.#pendingPrelude = prelude.length;
  }

  submit(connection: ProtocolConnection): Error | null {
    connection.stream.cork?.();
    try {
      const send = (st: { text: string; name?: string; values: readonly unknown[] }, describe: boolean): void => {
        if (st.name === undefined) connection.parse({ text: st.text, name: '', types: [] });
        else if (connection.parsedStatements[st.name] === undefined) {
          connection.parse({ text: st.text, name: st.name, types: [] });
          connection.parsedStatements[st.name] = st.text;
        }
        connection.bind({ statement: st.name ?? '', portal: '', values: st.values, valueMapper: prepareValue });
        if (describe) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      };
      for (const st of this.#prelude) send(st, false);
      for (const st of this.#statements) send(st, true);
      for (const st of this.#postlude) send(st, false);
      connection.sync();
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
