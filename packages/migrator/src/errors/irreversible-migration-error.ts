import { MigratorError } from './migrator-error.js';

/**
 * A rollback was refused before touching anything: some migration in the
 * range has no `down`, or is no longer in the source.
 */
export class IrreversibleMigrationError extends MigratorError {
  /** Migrations in the range that cannot be rolled back. */
  readonly migrationIds: readonly string[];

  /**
   * @param migrationIds migrations without a `down`
   * @param reason why they cannot be rolled back
   */
  constructor(migrationIds: readonly string[], reason = 'no down migration') {
    super(
      'IRREVERSIBLE_MIGRATION',
      `refusing to roll back: ${migrationIds.join(', ')} ${migrationIds.length > 1 ? 'have' : 'has'} ${reason}. Nothing was changed.`,
    );
    this.migrationIds = migrationIds;
  }
}
