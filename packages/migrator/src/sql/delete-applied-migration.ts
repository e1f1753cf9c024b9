import { qualified, type Queryable } from './queryable.js';

/** Deletes a tracking row (rollback of a migration); returns whether a row was deleted. */
export async function deleteAppliedMigration(db: Queryable, schema: string, table: string, id: string): Promise<boolean> {
  const r = await db.query(`delete from ${qualified(schema, table)} where name = $1`, [id]);
  return (r.rowCount ?? 0) > 0;
}
