import type { Queryable } from './queryable.js';

/** Whether the schema and the tracking table exist, and the table's columns. */
export interface TrackingState {
  /** The schema exists. */
  schemaExists: boolean;
  /** The tracking table exists. */
  tableExists: boolean;
  /** Column names of the tracking table (empty when absent). */
  columns: string[];
}

/** Reads whether schema and tracking table exist, without creating anything. */
export async function selectTrackingState(db: Queryable, schema: string, table: string): Promise<TrackingState> {
  const { rows } = await db.query<{ schema_exists: boolean; columns: string[] | null }>(
    `select exists(select 1 from pg_namespace where nspname = $1) as schema_exists,
            (select array_agg(a.attname::text order by a.attnum)
               from pg_attribute a
               join pg_class c on c.oid = a.attrelid
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped) as columns`,
    [schema, table],
  );
  const row = rows[0];
  return { schemaExists: row?.schema_exists ?? false, tableExists: (row?.columns ?? null) !== null, columns: row?.columns ?? [] };
}
