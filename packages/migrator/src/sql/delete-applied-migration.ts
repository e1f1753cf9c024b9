import { escapeLiteral } from 'pg';
import { qualified } from './queryable.js';

/** The `delete` of a tracking row (rollback of a migration) as SQL text, to send together with `COMMIT`. */
export function deleteAppliedMigrationSql(schema: string, table: string, id: string): string {
  return `delete from ${qualified(schema, table)} where name = ${escapeLiteral(id)}`;
}
