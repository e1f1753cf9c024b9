import { createRequire } from 'node:module';
import pg from 'pg';

/** The parts of pg's (untyped) protocol connection the pipelined queries write to. @internal */
export interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parsedStatements: Record<string, string | undefined>;
  parse(msg: { text: string; name?: string; types?: unknown[] }): void;
  bind(msg: { statement?: string; portal?: string; values: readonly unknown[]; valueMapper?: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
}

/** The parts of pg's `Query` the pipelined queries override (not in @types/pg). */
interface QueryInternals {
  submit(connection: ProtocolConnection): Error | null;
  prepare(connection: ProtocolConnection): void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: ProtocolConnection): void;
  handleError(err: Error, connection: ProtocolConnection): void;
  requiresPreparation(): boolean;
}

type QueryCallback = (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void;
type QueryCtor = new (config: pg.QueryConfig, values?: unknown, callback?: QueryCallback) => QueryInternals;
const BaseQuery = pg.Query as unknown as QueryCtor;

/** pg's own conversion of bound values (dates, buffers, arrays, JSON). */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

/** A statement as the protocol sends it: text, bound values, optional server-side name. */
export interface WireStatement {
  readonly text: string;
  readonly values: readonly unknown[];
  readonly name?: string;
}

/**
 * Writes one statement to the connection: Parse (for a named statement only
 * the first time on this connection), Bind, optionally Describe, Execute.
 * A named statement is marked parsed at once; if anything fails before the
 * prelude completed, the caller discards the connection (`preludeFailed`).
 *
 * @internal
 */
export function sendStatement(connection: ProtocolConnection, st: WireStatement, describe: boolean): void {
  if (st.name === undefined) {
    connection.parse({ text: st.text, name: '', types: [] });
  } else if (connection.parsedStatements[st.name] === undefined) {
    connection.parse({ text: st.text, name: st.name, types: [] });
    connection.parsedStatements[st.name] = st.text;
  }
  connection.bind({ statement: st.name ?? '', portal: '', values: st.values, valueMapper: prepareValue });
  if (describe) connection.describe({ type: 'P', name: '' });
  connection.execute({ portal: '', rows: 0 });
}

/**
 * A pg `Query` sent with prelude statements ahead of it in the same pipeline:
 * the first `preludeCount` results are swallowed, so callers see only their own.
 *
 * @internal
 */
export abstract class PreludeQuery extends BaseQuery {
  #pendingPrelude: number;
  /** True when an error arrived before every prelude statement completed (connection state unknown). */
  preludeFailed = false;

  constructor(config: pg.QueryConfig, callback: QueryCallback, preludeCount: number) {
    super(config, undefined, callback);
    this.#pendingPrelude = preludeCount;
  }

  /** Whether prelude results are still expected. */
  protected get inPrelude(): boolean {
    return this.#pendingPrelude > 0;
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
}
