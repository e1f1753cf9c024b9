/**
 * Base class of the errors of `@stellaops/backup`: a stable `code`, a message
 * that names the problem and the fix, and `cause` where there is one.
 *
 * @example
 * ```ts
 * try { await restoreBackup(opts); } catch (e) { if (e instanceof BackupError) console.error(e.code, e.message); }
 * ```
 */
export class BackupError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** WAL archiving of the running cluster fails or does not keep up, so a backup could not be restored. */
export class ArchivingFailedError extends BackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKUP_ARCHIVING_FAILED', message, options);
  }
}

/** A WAL segment a restore needs is not in the archive. */
export class WalSegmentMissingError extends BackupError {
  /** The first missing segment file name (e.g. `000000010000000000000007`). */
  readonly segment: string;

  constructor(segment: string, message: string) {
    super('BACKUP_WAL_SEGMENT_MISSING', message);
    this.segment = segment;
  }
}

/** The restore target lies before the end of the earliest base backup, or after the newest archived WAL. */
export class RestoreTargetError extends BackupError {
  constructor(message: string) {
    super('BACKUP_RESTORE_TARGET', message);
  }
}

/** A backup file's content does not match its manifest (bit rot, truncation, tampering). */
export class BackupChecksumMismatchError extends BackupError {
  /** The backup whose file is damaged. */
  readonly backupId: string;
  /** The damaged file (`base.tar.gz`, or a path inside it). */
  readonly file: string;

  constructor(backupId: string, file: string, message: string, options?: { cause?: unknown }) {
    super('BACKUP_CHECKSUM_MISMATCH', message, options);
    this.backupId = backupId;
    this.file = file;
  }
}

/** Writing the backup into the repository failed (disk full, permissions); the partial backup was removed. */
export class BackupWriteError extends BackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKUP_WRITE_FAILED', message, options);
  }
}

/** Bad input: an unknown backup, a non-empty restore folder, an in-place restore without confirmation. */
export class BackupUsageError extends BackupError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKUP_USAGE', message, options);
  }
}

/** The restored server did not start or did not reach the target. */
export class RestoreFailedError extends BackupError {
  /** The last lines of the restored server's log. */
  readonly logTail: string;

  constructor(message: string, logTail: string, options?: { cause?: unknown }) {
    super('BACKUP_RESTORE_FAILED', logTail ? `${message}\n--- restored server log (tail) ---\n${logTail}` : message, options);
    this.logTail = logTail;
  }
}
