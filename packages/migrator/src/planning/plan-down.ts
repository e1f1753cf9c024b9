import { ChecksumMismatchError } from '../errors/checksum-mismatch-error.js';
import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import { IrreversibleMigrationError } from '../errors/irreversible-migration-error.js';
import { compareMigrationIds } from '../migration/compare-ids.js';
import type { ResolvedMigration } from '../migration/migration.js';
import type { Analysis } from './analyze.js';

/** Which applied migrations to roll back; exactly one of the three. */
export type PlanDownOptions =
  | { to: string; steps?: undefined; all?: undefined }
  | { steps: number; to?: undefined; all?: undefined }
  | { all: true; to?: undefined; steps?: undefined };

/**
 * The applied migrations `down` rolls back, newest first: all applied
 * migrations after `to` (which stays applied), the last `steps`, or `all`.
 * Refuses — before anything runs — when one of them has no `down`, is
 * missing from the source, or drifted. Pure.
 */
export function planDown(migrations: readonly ResolvedMigration[], analysis: Analysis, options: PlanDownOptions): ResolvedMigration[] {
  const appliedIds = [...analysis.applied.keys()].sort(compareMigrationIds);
  let range: string[];
  if (options.to !== undefined) {
    const to = options.to;
    if (!analysis.applied.has(to)) {
      throw new InvalidMigrationError(
        `target ${to} is not an applied migration${migrations.some((m) => m.id === to) ? ' (it is pending)' : ''}`,
      );
    }
    range = appliedIds.filter((id) => compareMigrationIds(id, to) > 0);
  } else if (options.steps !== undefined) {
    if (!Number.isInteger(options.steps) || options.steps < 0)
      throw new InvalidMigrationError(`steps must be a non-negative integer, got ${options.steps}`);
    range = options.steps === 0 ? [] : appliedIds.slice(-options.steps);
  } else range = appliedIds;
  range.reverse();
  const known = new Map(migrations.map((m) => [m.id, m]));
  const notInSource = range.filter((id) => !known.has(id));
  if (notInSource.length > 0) throw new IrreversibleMigrationError(notInSource, 'no source (missing migration)');
  const resolved = range.map((id) => known.get(id) as ResolvedMigration);
  const noDown = resolved.filter((m) => m.down === undefined).map((m) => m.id);
  if (noDown.length > 0) throw new IrreversibleMigrationError(noDown);
  const drift = analysis.drifted.filter((d) => range.includes(d.migration.id));
  if (drift.length > 0) {
    throw new ChecksumMismatchError(
      drift.map((d) => ({ id: d.migration.id, appliedChecksum: d.appliedChecksum, currentChecksum: d.migration.checksum })),
    );
  }
  return resolved;
}
