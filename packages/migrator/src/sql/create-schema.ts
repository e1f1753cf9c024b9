import { quoteIdentifier } from '@stellaops/postgres-core';
import type { Queryable } from './queryable.js';

/** `create schema if not exists`. */
export async function createSchema(db: Queryable, schema: string): Promise<void> {
  await db.query(`create schema if not exists ${quoteIdentifier(schema)}`);
}
