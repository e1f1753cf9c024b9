import { qualified, type Queryable } from './queryable.js';

/** Records a new checksum (and description) for an applied migration (`accept`). */
export async function updateAppliedChecksum(
  db: Queryable,
  schema: string,
  table: string,
  id: string,
  checksum: string,
  description: string,
): Promise<void> {
  await db.query(`update ${qualified(schema, table)} set checksum = $2, description = $3 where name = $1`, [id, checksum, description]);
}
