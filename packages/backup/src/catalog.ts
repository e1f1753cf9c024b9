import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupManifest } from './manifest.js';
import { BackupRepository } from './repository.js';
import { lastContinuousSegment, parseSegmentName, readWalArchive, segmentName, type WalArchiveContents } from './wal.js';

/** One backup as listed. */
export interface CatalogBackup {
  id: string;
  label: string;
  startTime: string;
  stopTime: string;
  stopLsn: string;
  timeline: number;
  dataBytes: number;
  archiveBytes: number;
  /** True when all WAL from its start to its restore point is archived. */
  restorable: boolean;
  /** Why not, naming the first missing segment. */
  problem?: string;
}

/** What `stella-db cluster backups` shows. */
export interface BackupCatalog {
  backups: CatalogBackup[];
  wal: {
    /** Oldest and newest archived segment, and how many there are. */
    first: string | null;
    last: string | null;
    segments: number;
  };
  /** The earliest point a restore can reach: the end of the oldest restorable backup. */
  earliest: { time: string; lsn: string; backupId: string } | null;
  /**
   * The latest point: the end of the newest archived segment that follows the
   * newest restorable backup without a gap. `approxTime` is that segment's
   * archive time (commits in it are at or before it).
   */
  latest: { walFile: string; approxTime: string } | null;
}

function firstGap(archive: WalArchiveContents, m: BackupManifest, lastNeeded: string): string | undefined {
  const from = parseSegmentName(m.startWalFile, m.walSegmentSize);
  const to = parseSegmentName(lastNeeded, m.walSegmentSize);
  if (!from || !to) return m.startWalFile;
  const have = new Set(archive.segments);
  for (let n = from.number; n <= to.number; n++) {
    const name = segmentName({ timeline: from.timeline, number: n }, m.walSegmentSize);
    if (!have.has(name)) return name;
  }
  return undefined;
}

/**
 * Lists the backups of a repository with the WAL archive: which are
 * restorable, and the earliest and latest points a restore can reach.
 *
 * @example
 * ```ts
 * const c = listBackups('/var/lib/stellaops/backups', '/var/lib/stellaops/wal-archive');
 * console.log(c.earliest?.time, c.latest?.approxTime);
 * ```
 */
export function listBackups(repository: string | BackupRepository, archiveDir: string): BackupCatalog {
  const repo = typeof repository === 'string' ? new BackupRepository(repository) : repository;
  const archive = readWalArchive(archiveDir);
  const backups: CatalogBackup[] = repo.manifests().map((m) => {
    const gap = firstGap(archive, m, m.restorePoint.walFile);
    return {
      id: m.id,
      label: m.label,
      startTime: m.startTime,
      stopTime: m.stopTime,
      stopLsn: m.stopLsn,
      timeline: m.timeline,
      dataBytes: m.dataBytes,
      archiveBytes: m.archiveBytes,
      restorable: gap === undefined,
      ...(gap ? { problem: `WAL segment ${gap} is missing from the archive` } : {}),
    };
  });
  const restorable = repo.manifests().filter((m) => firstGap(archive, m, m.restorePoint.walFile) === undefined);
  const oldest = restorable[0];
  const newest = restorable.at(-1);
  let latest: BackupCatalog['latest'] = null;
  if (newest) {
    const from = parseSegmentName(newest.startWalFile, newest.walSegmentSize);
    const last = from ? lastContinuousSegment(archive, from, newest.walSegmentSize) : undefined;
    if (last) {
      const walFile = segmentName(last, newest.walSegmentSize);
      latest = { walFile, approxTime: statSync(join(archiveDir, walFile)).mtime.toISOString() };
    }
  }
  return {
    backups,
    wal: { first: archive.segments[0] ?? null, last: archive.segments.at(-1) ?? null, segments: archive.segments.length },
    earliest: oldest ? { time: oldest.stopTime, lsn: oldest.stopLsn, backupId: oldest.id } : null,
    latest,
  };
}
