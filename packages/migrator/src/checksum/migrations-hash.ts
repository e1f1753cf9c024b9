import type { ResolvedMigration } from '../migration/migration.js';
import { sha256Hex } from './sha256.js';

/**
 * One checksum over a whole migration set: schema, tracking table and every
 * migration's id, transaction mode and checksum, in order. Two sets with the
 * same hash migrate a database to the same state (the test fixture names its
 * template databases with it).
 */
export function computeMigrationsHash(schema: string, table: string, migrations: readonly ResolvedMigration[]): string {
  const lines = [`schema=${schema}`, `table=${table}`];
  for (const m of migrations) lines.push(`${m.id}\t${m.transaction ? 'tx' : 'no-tx'}\t${m.checksum}`);
  return sha256Hex(lines.join('\n'));
}
