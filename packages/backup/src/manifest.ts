import type { Lsn } from './wal.js';

/** Row count and content checksum of one table, taken at the backup's consistency restore point. */
export interface TableStats {
  /** `database.schema.table`. */
  table: string;
  rows: number;
  /** Order-independent checksum: the sum over all rows of `hash_record_extended(row, 0)` (`method: 'record'`) or `hashtextextended(row::text, 0)` (`'text'`), as decimal text. */
  checksum: string;
  method: 'record' | 'text';
}

/** One file of the data folder as stored in the backup. */
export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/** `manifest.json` of one base backup; a backup folder without it is incomplete. */
export interface BackupManifest {
  /** Manifest format version. */
  format: 1;
  /** Backup id (folder name), e.g. `20261203T104512Z-nightly`. */
  id: string;
  label: string;
  /** PostgreSQL version (`server_version`). */
  serverVersion: string;
  /** `system_identifier` of the cluster backed up. */
  systemIdentifier: string;
  timeline: number;
  walSegmentSize: number;
  startLsn: Lsn;
  /** WAL segment holding the start checkpoint: the first one a restore needs. */
  startWalFile: string;
  startTime: string;
  stopLsn: Lsn;
  /** WAL segment where the backup ends: restores are consistent once it is replayed. */
  stopWalFile: string;
  stopTime: string;
  /** Restore point created after the backup, at which `tables` were counted. */
  restorePoint: { name: string; lsn: Lsn; time: string; walFile: string };
  /** Bytes of the data folder copied (uncompressed). */
  dataBytes: number;
  /** Bytes of `base.tar.gz`. */
  archiveBytes: number;
  /** SHA-256 of `base.tar.gz`. */
  archiveSha256: string;
  compression: { format: 'gzip'; level: number };
  durationMs: number;
  files: ManifestFile[];
  tables: TableStats[];
  /** Why `tables` is empty: writes could not be paused to count rows (long transactions). */
  tableStatsSkipped?: string;
}
