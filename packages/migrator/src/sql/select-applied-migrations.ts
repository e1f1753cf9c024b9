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

/** Reads every row of the tracking table. */
export async function selectAppliedMigrations(db: Queryable, schema: string, table: string): Promise<AppliedMigrationRow[]> {
  const { rows } = await db.query<{
    name: string;
    timestamp: string;
    description: string | null;
    checksum: string | null;
    applied_at: Date | null;
    duration_ms: number | null;
    applied_by: string | null;
    in_transaction: boolean | null;
  }>(`select name, timestamp, description, checksum, applied_at, duration_ms, applied_by, in_transaction from ${qualified(schema, table)}`);
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
