import type { ChecksumSource } from '../migration/migration.js';
import type { MigrationStatusEntry } from '../planning/analyze.js';

/** `status`: every migration and its state. */
export interface StatusReport {
  /** Schema. */
  schema: string;
  /** Tracking table. */
  table: string;
  /** Whether the tracking table exists yet. */
  initialized: boolean;
  /** Every migration, in id order. */
  migrations: MigrationStatusEntry[];
  /** Counts by state. */
  counts: Record<MigrationStatusEntry['state'], number>;
}

/** One pending migration as `plan` shows it. */
export interface PlannedMigration {
  /** Migration id. */
  id: string;
  /** Description. */
  description: string;
  /** Runs in a transaction. */
  transaction: boolean;
  /** Checksum that will be recorded. */
  checksum: string;
  /** How the checksum was computed. */
  checksumSource: ChecksumSource;
  /** The SQL it will run, as far as known. */
  sql: string;
  /**
   * `full`: SQL text, or every query a Kysely step sent in the dry run;
   * `partial`: the dry run threw after recording some queries, or the step
   * read data (a dry run answers reads with zero rows, so SQL that depends
   * on data may be missing).
   */
  capture: 'full' | 'partial';
  /** Why the capture is partial. */
  note?: string;
}

/** `plan`: what `up` (or `down`) would do, without doing it. */
export interface PlanReport {
  /** Schema. */
  schema: string;
  /** Direction planned. */
  direction: 'up' | 'down';
  /** Migrations to run, in order. */
  migrations: PlannedMigration[];
}

/** `verify`: whether the database matches the source. */
export interface VerifyReport {
  /** Schema. */
  schema: string;
  /** No pending, drifted, missing, unverified or out-of-order migration. */
  ok: boolean;
  /** Pending ids. */
  pending: string[];
  /** Pending ids older than the newest applied. */
  outOfOrder: string[];
  /** Drifted migrations with both checksums. */
  drifted: { id: string; appliedChecksum: string; currentChecksum: string }[];
  /** Applied ids missing from the source. */
  missing: string[];
  /** Applied ids without a recorded checksum. */
  unverified: string[];
}

/** `accept`: checksums recorded anew. */
export interface AcceptReport {
  /** Schema. */
  schema: string;
  /** Each accepted migration with old and new checksum. */
  accepted: { id: string; previousChecksum: string | null; checksum: string }[];
}
