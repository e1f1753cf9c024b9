import { ChecksumMismatchError } from '../errors/checksum-mismatch-error.js';
import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import { MissingMigrationError } from '../errors/missing-migration-error.js';
import { OutOfOrderError } from '../errors/out-of-order-error.js';
import { compareMigrationIds } from '../migration/compare-ids.js';
import type { ResolvedMigration } from '../migration/migration.js';
import type { Analysis } from './analyze.js';

/** Options that decide which pending migrations `up` applies. */
export interface PlanUpOptions {
  /** Apply up to and including this id (default: all pending). */
  to?: string | undefined;
  /** Apply pending migrations older than the newest applied one instead of failing. */
  allowOutOfOrder?: boolean | undefined;
  /** Tolerate applied migrations missing from the source. */
  ignoreMissing?: boolean | undefined;
}

/**
 * The migrations `up` will apply, in order — or the error that stops it
 * before anything runs (drift, missing, out-of-order, unknown target). Pure.
 */
export function planUp(migrations: readonly ResolvedMigration[], analysis: Analysis, options: PlanUpOptions = {}): ResolvedMigration[] {
  if (analysis.drifted.length > 0) {
    throw new ChecksumMismatchError(
      analysis.drifted.map((d) => ({ id: d.migration.id, appliedChecksum: d.appliedChecksum, currentChecksum: d.migration.checksum })),
    );
  }
  if (analysis.missing.length > 0 && !options.ignoreMissing) throw new MissingMigrationError(analysis.missing);
  if (analysis.outOfOrder.length > 0 && !options.allowOutOfOrder) {
    throw new OutOfOrderError(
      analysis.outOfOrder.map((m) => m.id),
      analysis.newestApplied as string,
    );
  }
  const to = options.to;
  if (to === undefined) return [...analysis.pending];
  if (!migrations.some((m) => m.id === to)) throw new InvalidMigrationError(`target ${to} is not a known migration`);
  return analysis.pending.filter((m) => compareMigrationIds(m.id, to) <= 0);
}
