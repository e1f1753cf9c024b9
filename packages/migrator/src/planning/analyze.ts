import { compareMigrationIds } from '../migration/compare-ids.js';
import type { ResolvedMigration } from '../migration/migration.js';
import type { AppliedMigrationRow } from '../sql/select-applied-migrations.js';

/**
 * State of one migration, comparing source and tracking table:
 * - `applied`: applied, checksum matches;
 * - `unverified`: applied by a runner that recorded no checksum (plain Kysely);
 * - `drifted`: applied, but the source changed since;
 * - `pending`: not applied;
 * - `out-of-order`: not applied and older than the newest applied migration;
 * - `missing`: applied, no longer in the source, older than the newest known one;
 * - `future`: applied, not in the source, newer than every known one (a newer release ran).
 */
export type MigrationState = 'applied' | 'unverified' | 'drifted' | 'pending' | 'out-of-order' | 'missing' | 'future';

/** One line of `status`. */
export interface MigrationStatusEntry {
  /** Migration id. */
  id: string;
  /** Description (from the source, else from the tracking row). */
  description: string | null;
  /** State. */
  state: MigrationState;
  /** Runs in a transaction (source), or ran in one (tracking row). */
  transaction: boolean | null;
  /** Has a `down`. */
  reversible: boolean;
  /** Checksum of the source. */
  checksum: string | null;
  /** Checksum recorded when applied. */
  appliedChecksum: string | null;
  /** When applied. */
  appliedAt: Date | null;
  /** How long `up` took. */
  durationMs: number | null;
  /** Who applied it. */
  appliedBy: string | null;
}

/** Source and tracking table compared. */
export interface Analysis {
  /** Every migration, source and tracking table merged, in id order. */
  entries: MigrationStatusEntry[];
  /** Pending migrations (in-order and out-of-order), in id order. */
  pending: ResolvedMigration[];
  /** Pending migrations older than the newest applied one. */
  outOfOrder: ResolvedMigration[];
  /** Drifted migrations. */
  drifted: { migration: ResolvedMigration; appliedChecksum: string }[];
  /** Applied ids missing from the source (not `future`). */
  missing: string[];
  /** Applied ids newer than every known migration. */
  future: string[];
  /** Newest applied id (by id order) that the source knows, if any. */
  newestApplied: string | undefined;
  /** Applied rows by id. */
  applied: Map<string, AppliedMigrationRow>;
}

/** Compares resolved migrations (sorted) with tracking rows. Pure. */
export function analyze(migrations: readonly ResolvedMigration[], rows: readonly AppliedMigrationRow[]): Analysis {
  const applied = new Map(rows.map((r) => [r.id, r]));
  const known = new Map(migrations.map((m) => [m.id, m]));
  const appliedIds = [...applied.keys()].sort(compareMigrationIds);
  const knownApplied = appliedIds.filter((id) => known.has(id));
  const newestApplied = knownApplied[knownApplied.length - 1];
  const newestKnown = migrations[migrations.length - 1]?.id;
  const entries: MigrationStatusEntry[] = [];
  const pending: ResolvedMigration[] = [];
  const outOfOrder: ResolvedMigration[] = [];
  const drifted: Analysis['drifted'] = [];
  const missing: string[] = [];
  const future: string[] = [];
  for (const m of migrations) {
    const row = applied.get(m.id);
    let state: MigrationState;
    if (!row) {
      pending.push(m);
      if (newestApplied !== undefined && compareMigrationIds(m.id, newestApplied) < 0) {
        outOfOrder.push(m);
        state = 'out-of-order';
      } else state = 'pending';
    } else if (row.checksum === null) state = 'unverified';
    else if (row.checksum !== m.checksum) {
      drifted.push({ migration: m, appliedChecksum: row.checksum });
      state = 'drifted';
    } else state = 'applied';
    entries.push({
      id: m.id,
      description: m.description,
      state,
      transaction: row?.inTransaction ?? m.transaction,
      reversible: m.down !== undefined,
      checksum: m.checksum,
      appliedChecksum: row?.checksum ?? null,
      appliedAt: row?.appliedAt ?? null,
      durationMs: row?.durationMs ?? null,
      appliedBy: row?.appliedBy ?? null,
    });
  }
  for (const id of appliedIds) {
    if (known.has(id)) continue;
    const row = applied.get(id) as AppliedMigrationRow;
    const isFuture = newestKnown === undefined || compareMigrationIds(id, newestKnown) > 0;
    (isFuture ? future : missing).push(id);
    entries.push({
      id,
      description: row.description,
      state: isFuture ? 'future' : 'missing',
      transaction: row.inTransaction,
      reversible: false,
      checksum: null,
      appliedChecksum: row.checksum,
      appliedAt: row.appliedAt,
      durationMs: row.durationMs,
      appliedBy: row.appliedBy,
    });
  }
  entries.sort((a, b) => compareMigrationIds(a.id, b.id));
  return { entries, pending, outOfOrder, drifted, missing, future, newestApplied, applied };
}
