import { qualified, type Queryable } from './queryable.js';

/** What the runner records for an applied migration. */
export interface AppliedMigrationInsert {
  /** Migration id. */
  id: string;
  /** Description. */
  description: string;
  /** Checksum of its source. */
  checksum: string;
  /** Duration of `up`, in milliseconds. */
  durationMs: number;
  /** Who applied it; null → `current_user`. */
  appliedBy: string | null;
  /** Whether it ran in a transaction. */
  inTransaction: boolean;
}

/** Inserts a tracking row (in the migration's transaction when it has one). */
export async function insertAppliedMigration(db: Queryable, schema: string, table: string, row: AppliedMigrationInsert): Promise<void> {
  await db.query(
    `insert into ${qualified(schema, table)} (name, timestamp, description, checksum, duration_ms, applied_by, in_transaction)
     values ($1, $2, $3, $4, $5, coalesce($6, current_user), $7)`,
    [row.id, new Date().toISOString(), row.description, row.checksum, Math.round(row.durationMs), row.appliedBy, row.inTransaction],
  );
}
