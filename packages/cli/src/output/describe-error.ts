import {
  ChecksumMismatchError,
  IrreversibleMigrationError,
  LockTimeoutError,
  MigrationFailedError,
  MigratorError,
  MissingMigrationError,
  OutOfOrderError,
} from '@stellaops/migrator';
import { redactSecrets } from '@stellaops/safe-text';
import { UsageError } from '../usage-error.js';

/** An error as `--json` output shows it. */
export interface ErrorDocument {
  /** Stable code (`MIGRATION_FAILED`, `CHECKSUM_MISMATCH`, `USAGE`…). */
  code: string;
  /** Message (passwords redacted). */
  message: string;
  /** Extra details by error type. */
  [key: string]: unknown;
}

/** Turns any error into a JSON-safe document, with secrets redacted. */
export function describeError(error: unknown): ErrorDocument {
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  if (error instanceof MigrationFailedError) {
    return {
      code: error.code,
      message,
      migrationId: error.migrationId,
      direction: error.direction,
      sqlState: error.sqlState ?? null,
      position: error.position ?? null,
      statement: error.statement ? redactSecrets(error.statement) : null,
      rolledBack: error.rolledBack,
    };
  }
  if (error instanceof ChecksumMismatchError) return { code: error.code, message, mismatches: error.mismatches };
  if (error instanceof OutOfOrderError)
    return { code: error.code, message, migrationIds: error.migrationIds, newestAppliedId: error.newestAppliedId };
  if (error instanceof MissingMigrationError || error instanceof IrreversibleMigrationError)
    return { code: error.code, message, migrationIds: error.migrationIds };
  if (error instanceof LockTimeoutError) return { code: error.code, message, waitedMs: Math.round(error.waitedMs), holders: error.holders };
  if (error instanceof MigratorError || error instanceof UsageError) return { code: error.code, message };
  const code = (error as { code?: unknown } | null)?.code;
  return { code: typeof code === 'string' ? code : 'ERROR', message };
}
