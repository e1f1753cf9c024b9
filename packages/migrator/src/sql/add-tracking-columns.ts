import { quoteIdentifier } from '@stellaops/postgres-core';
import { qualified, type Queryable } from './queryable.js';

/** Adds the given columns (name → type) to a tracking table created by Kysely. */
export async function addTrackingColumns(db: Queryable, schema: string, table: string, columns: Record<string, string>): Promise<void> {
  const parts = Object.entries(columns).map(([name, type]) => `add column if not exists ${quoteIdentifier(name)} ${type}`);
  if (parts.length === 0) return;
  await db.query(`alter table ${qualified(schema, table)} ${parts.join(', ')}`);
}
