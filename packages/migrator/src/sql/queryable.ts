import type { QueryResult, QueryResultRow } from 'pg';
import { quoteQualifiedName } from '@stellaops/postgres-core';

/** The part of a `pg` client the SQL operations use. */
export interface Queryable {
  /** Runs one query (simple protocol without values, extended with). */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** `"schema"."table"`, both checked by postgres-core's one identifier rule. */
export function qualified(schema: string, table: string): string {
  return quoteQualifiedName(schema, table);
}
