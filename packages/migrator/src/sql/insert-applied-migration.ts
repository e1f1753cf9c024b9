import { escapeLiteral } from 'pg';
import { qualified } from './queryable.js';

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

/**
 * The `insert` of a tracking row as SQL text (values escaped with `pg`'s
 * `escapeLiteral`), so the runner can send it together with `COMMIT` in one
 * round trip.
 */
export function insertAppliedMigrationSql(schema: string, table: string, row: AppliedMigrationInsert): string {
  return (
    `insert into ${qualified(schema, table)} (name, timestamp, description, checksum, duration_ms, applied_by, in_transaction) values (` +
    [
      escapeLiteral(row.id),
      escapeLiteral(new Date().toISOString()),
      escapeLiteral(row.description),
      escapeLiteral(row.checksum),
      String(Math.round(row.durationMs)),
      row.appliedBy === null ? 'current_user' : escapeLiteral(row.appliedBy),
      row.inTransaction ? 'true' : 'false',
    ].join(', ') +
    ')'
  );
}
