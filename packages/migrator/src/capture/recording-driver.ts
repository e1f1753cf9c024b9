import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';

/** A query a dry run recorded instead of executing. */
export interface RecordedQuery {
  /** Compiled SQL. */
  sql: string;
  /** Bound parameters. */
  parameters: readonly unknown[];
}

class RecordingConnection implements DatabaseConnection {
  constructor(private readonly sink: RecordedQuery[]) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    this.sink.push({ sql: compiledQuery.sql, parameters: compiledQuery.parameters });
    return { rows: [] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    this.sink.push({ sql: compiledQuery.sql, parameters: compiledQuery.parameters });
  }
}

/**
 * A Kysely driver that executes nothing: every compiled query is recorded and
 * answered with zero rows. Used to show (`plan`) and checksum the SQL a
 * TypeScript migration runs without a database.
 */
export class RecordingDriver implements Driver {
  constructor(private readonly sink: RecordedQuery[]) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RecordingConnection(this.sink);
  }

  async beginTransaction(_c: DatabaseConnection, _s: TransactionSettings): Promise<void> {
    this.sink.push({ sql: 'begin', parameters: [] });
  }

  async commitTransaction(): Promise<void> {
    this.sink.push({ sql: 'commit', parameters: [] });
  }

  async rollbackTransaction(): Promise<void> {
    this.sink.push({ sql: 'rollback', parameters: [] });
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}
