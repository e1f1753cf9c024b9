import { MigratorError } from './migrator-error.js';

/** One applied migration whose source no longer matches what was applied. */
export interface ChecksumMismatch {
  /** Migration id. */
  id: string;
  /** Checksum recorded in the tracking table when it was applied (or accepted). */
  appliedChecksum: string;
  /** Checksum of the migration's current source. */
  currentChecksum: string;
}

/**
 * The source of one or more applied migrations changed. Nothing was applied;
 * run `accept` (`stella-db migrate accept`) once the change is reviewed.
 */
export class ChecksumMismatchError extends MigratorError {
  /** Every drifted migration with both checksums. */
  readonly mismatches: readonly ChecksumMismatch[];

  /** @param mismatches the drifted migrations */
  constructor(mismatches: readonly ChecksumMismatch[]) {
    super(
      'CHECKSUM_MISMATCH',
      `checksum mismatch: the source of applied migration${mismatches.length > 1 ? 's' : ''} changed: ` +
        mismatches.map((m) => `${m.id} (applied ${m.appliedChecksum}, now ${m.currentChecksum})`).join('; ') +
        '. Revert the change, or review it and run `accept` to record the new checksum.',
    );
    this.mismatches = mismatches;
  }
}
