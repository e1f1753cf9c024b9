/**
 * `@stellaops/backup`: online base backups through PostgreSQL 16's low-level
 * API, a WAL-archive catalog, point-in-time restore into a separate server,
 * the restore drill (`verifyBackup`) and retention — with PostgreSQL's own
 * mechanisms only (`pg_backup_start`/`pg_backup_stop`, `basic_archive`,
 * `restore_command`, `recovery_target_*`). `stella-db cluster backup|backups|restore|verify-backup`
 * is a thin layer over these functions.
 *
 * @example
 * ```ts
 * const source = { connection: { host: socketDir, user: 'postgres' }, dataDir, archiveDir };
 * await takeBackup({ source, repository: repoDir, label: 'nightly' });
 * const r = await restoreBackup({ repository: repoDir, archiveDir, target: '2026-12-03T10:15:00Z', into: '/var/tmp/pitr', binaries, runAs });
 * await r.stop();
 * ```
 *
 * @packageDocumentation
 */
export { takeBackup, type BackupOptions, type BackupProgress, type SourceCluster } from './base-backup.js';
export { listBackups, type BackupCatalog, type CatalogBackup } from './catalog.js';
export {
  restoreBackup,
  parseRestoreTarget,
  describeTarget,
  chooseBackup,
  extractBackup,
  type RestoreOptions,
  type RestoreTarget,
  type RestoredServer,
} from './restore.js';
export { verifyBackup, type BackupVerifyOptions, type BackupVerifyReport } from './verify.js';
export { applyRetention, type RetentionReport } from './retention.js';
export { archiveStatus, type ArchiveStatus } from './archive-status.js';
export { BackupRepository, METRICS_FILE, renderMetrics, type BackupStatus } from './repository.js';
export type { BackupManifest, ManifestFile, TableStats } from './manifest.js';
export type { SuperuserConnection } from './pg-session.js';
export {
  compareLsn,
  isLsn,
  lsnToBigInt,
  parseSegmentName,
  readWalArchive,
  segmentName,
  type Lsn,
  type WalArchiveContents,
  type WalSegment,
} from './wal.js';
export {
  ArchivingFailedError,
  BackupChecksumMismatchError,
  BackupError,
  BackupUsageError,
  BackupWriteError,
  RestoreFailedError,
  RestoreTargetError,
  WalSegmentMissingError,
} from './errors.js';
