import type { QueryResult, QueryResultRow } from 'pg';

/** The part of a `pg` client the SQL operations use. */
export interface Queryable {
  /** Runs one query (simple protocol without values, extended with). */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** Quotes an identifier for PostgreSQL (`"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}
