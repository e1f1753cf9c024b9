import { qualified, type Queryable } from './queryable.js';

/** One row of the tracking table. */
export interface AppliedMigrationRow {
  /** Migration id (`name` column, Kysely-compatible). */
  id: string;
  /** Kysely's ISO `timestamp` column. */
  timestamp: string;
  /** Description recorded. */
  description: string | null;
  /** Checksum recorded (null for rows written by plain Kysely). */
  checksum: string | null;
  /** When it was applied. */
  appliedAt: Date | null;
  /** How long it took. */
  durationMs: number | null;
  /** Database user that applied it. */
  appliedBy: string | null;
  /** Whether it ran in a transaction. */
  inTransaction: boolean | null;
}

const OPTIONAL = ['description', 'checksum', 'applied_at', 'duration_ms', 'applied_by', 'in_transaction'];

/**
 * Reads every row of the tracking table. `columns`, when given, lists the
 * columns present (a table created by plain Kysely lacks ours): absent ones
 * read as null, so read-only commands never need to alter the table.
 */
export async function selectAppliedMigrations(
  db: Queryable,
  schema: string,
  table: string,
  columns?: readonly string[],
): Promise<AppliedMigrationRow[]> {
  const list = ['name', 'timestamp', ...OPTIONAL.map((c) => (!columns || columns.includes(c) ? c : `null as ${c}`))].join(', ');
  const { rows } = await db.query<{
    name: string;
    timestamp: string;
    description: string | null;
    checksum: string | null;
    applied_at: Date | null;
    duration_ms: number | null;
    applied_by: string | null;
    in_transaction: boolean | null;
  }>(`select ${list} from ${qualified(schema, table)}`);
  return rows.map((r) => ({
    id: r.name,
    timestamp: r.timestamp,
    description: r.description,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    durationMs: r.duration_ms,
    appliedBy: r.applied_by,
    inTransaction: r.in_transaction,
  }));
}
