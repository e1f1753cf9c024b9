import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupUsageError } from './errors.js';
import { BackupRepository } from './repository.js';
import { parseSegmentName, readWalArchive } from './wal.js';

/** What {@link applyRetention} removed and kept. */
export interface RetentionReport {
  keptBackups: string[];
  removedBackups: string[];
  /** Archived WAL segments removed (all older than the oldest kept backup's start). */
  removedSegments: number;
  /** The first segment kept: WAL from here on stays. */
  walKeptFrom: string | null;
}

/**
 * Keeps the newest `keep` complete backups and removes older ones, then
 * removes archived WAL segments (and backup history files) that come before
 * the start of the oldest kept backup — on any timeline, as
 * `pg_archivecleanup` does. WAL that a kept backup needs is never removed;
 * timeline history files are always kept.
 *
 * @example
 * ```ts
 * applyRetention({ repository: '/var/lib/stellaops/backups', archiveDir: '/var/lib/stellaops/wal-archive', keep: 7 });
 * ```
 */
export function applyRetention(options: {
  repository: string | BackupRepository;
  archiveDir: string;
  keep: number;
  dryRun?: boolean;
}): RetentionReport {
  const repo = typeof options.repository === 'string' ? new BackupRepository(options.repository) : options.repository;
  if (!Number.isInteger(options.keep) || options.keep < 1)
    throw new BackupUsageError(`--keep ${options.keep} is not allowed: keep at least 1 backup.`);
  const manifests = repo.manifests();
  const kept = manifests.slice(-options.keep);
  const removed = manifests.slice(0, Math.max(0, manifests.length - options.keep));
  const oldest = kept[0];
  let removedSegments = 0;
  if (!options.dryRun) for (const m of removed) repo.remove(m.id);
  if (oldest) {
    const cutoff = parseSegmentName(oldest.startWalFile, oldest.walSegmentSize)!.number;
    const archive = readWalArchive(options.archiveDir);
    for (const name of archive.segments) {
      const s = parseSegmentName(name, oldest.walSegmentSize);
      if (s && s.number < cutoff) {
        if (!options.dryRun) rmSync(join(options.archiveDir, name), { force: true });
        removedSegments++;
      }
    }
    for (const name of archive.backupHistories) {
      const s = parseSegmentName(name.slice(0, 24), oldest.walSegmentSize);
      if (s && s.number < cutoff && !options.dryRun) rmSync(join(options.archiveDir, name), { force: true });
    }
  }
  if (!options.dryRun) repo.refreshMetrics();
  return {
    keptBackups: kept.map((m) => m.id),
    removedBackups: removed.map((m) => m.id),
    removedSegments,
    walKeptFrom: oldest?.startWalFile ?? null,
  };
}
