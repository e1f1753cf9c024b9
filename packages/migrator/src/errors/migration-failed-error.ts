import { inspect } from 'node:util';
import type { MigrationResult } from '../runner/migration-result.js';
import { MigratorError } from './migrator-error.js';

/** Where, inside a migration, PostgreSQL reported an error. */
export interface FailurePosition {
  /** 1-based index of the failing statement in a SQL migration, when known. */
  statement?: number;
  /** 1-based line in the migration's SQL source, when known. */
  line?: number;
  /** 1-based column in the migration's SQL source, when known. */
  column?: number;
  /** PostgreSQL's raw `position` (1-based character offset in the query sent). */
  rawPosition?: number;
}

/**
 * A migration's `up` or `down` failed. Its transaction was rolled back (unless
 * it declared `transaction: false`), earlier migrations of the run stay applied,
 * and `results` tells exactly what happened to every migration of the run.
 */
export class MigrationFailedError extends MigratorError {
  /** Id of the migration that failed. */
  readonly migrationId: string;
  /** `up` or `down`. */
  readonly direction: 'up' | 'down';
  /** PostgreSQL SQLSTATE of the failure, when the failure came from the server. */
  readonly sqlState: string | undefined;
  /** Where in the migration the failure happened, when known. */
  readonly position: FailurePosition | undefined;
  /** The SQL statement that failed, when known. */
  readonly statement: string | undefined;
  /** Whether the migration ran in a transaction (and was therefore rolled back). */
  readonly rolledBack: boolean;
  /** Outcome of every migration of the run, the failed one included. */
  readonly results: readonly MigrationResult[];

  /**
   * @param details what failed, where, and the run's results
   * @param options standard error options (`cause`: the driver error)
   */
  constructor(
    details: {
      migrationId: string;
      direction: 'up' | 'down';
      sqlState?: string | undefined;
      position?: FailurePosition | undefined;
      statement?: string | undefined;
      rolledBack: boolean;
      results: readonly MigrationResult[];
    },
    options?: { cause?: unknown },
  ) {
    const where = describePosition(details.position);
    const reason =
      options?.cause instanceof Error ? options.cause.message : options?.cause == null ? 'unknown error' : inspect(options.cause);
    super(
      'MIGRATION_FAILED',
      `migration ${details.migrationId} (${details.direction}) failed${details.sqlState ? ` [SQLSTATE ${details.sqlState}]` : ''}${where}: ${reason}` +
        (details.rolledBack ? ' (rolled back)' : ' (ran outside a transaction: check the schema by hand)') +
        (!details.rolledBack && details.sqlState === '55P03'
          ? '. A CREATE INDEX CONCURRENTLY stopped by lock_timeout leaves an INVALID index: drop it before rerunning, or give this migration lockTimeoutMs 0 (-- stella:lock-timeout 0)'
          : ''),
      options,
    );
    this.migrationId = details.migrationId;
    this.direction = details.direction;
    this.sqlState = details.sqlState;
    this.position = details.position;
    this.statement = details.statement;
    this.rolledBack = details.rolledBack;
    this.results = details.results;
  }
}

function describePosition(p: FailurePosition | undefined): string {
  if (!p) return '';
  const parts: string[] = [];
  if (p.statement !== undefined) parts.push(`statement ${p.statement}`);
  if (p.line !== undefined) parts.push(`line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''}`);
  return parts.length > 0 ? ` at ${parts.join(', ')}` : '';
}
