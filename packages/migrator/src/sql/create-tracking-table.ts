import { qualified, type Queryable } from './queryable.js';

/**
 * Creates the tracking table. `name` and `timestamp` are Kysely `Migrator`'s
 * layout (so Kysely can read it); the other columns are ours and have
 * defaults, so a row Kysely inserts stays valid.
 */
export async function createTrackingTable(db: Queryable, schema: string, table: string): Promise<void> {
  await db.query(`create table if not exists ${qualified(schema, table)} (
  name varchar(255) not null primary key,
  timestamp varchar(255) not null,
  description text,
  checksum text,
  applied_at timestamptz not null default now(),
  duration_ms integer,
  applied_by text not null default current_user,
  in_transaction boolean not null default true
)`);
}

/** Columns the runner adds to a table created by Kysely's own `Migrator`. */
export const TRACKING_EXTRA_COLUMNS: Readonly<Record<string, string>> = {
  description: 'text',
  checksum: 'text',
  applied_at: 'timestamptz not null default now()',
  duration_ms: 'integer',
  applied_by: 'text not null default current_user',
  in_transaction: 'boolean not null default true',
};
