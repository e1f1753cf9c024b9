import { MigratorError } from './migrator-error.js';

/**
 * The tracking table records migrations that the source no longer has, older
 * than the newest known migration (a deleted or renamed migration). Applied
 * migrations newer than every known one are treated as "future" (a newer
 * release already ran) and tolerated.
 */
export class MissingMigrationError extends MigratorError {
  /** Applied migration ids absent from the source. */
  readonly migrationIds: readonly string[];

  /** @param migrationIds applied migration ids absent from the source */
  constructor(migrationIds: readonly string[]) {
    super(
      'MISSING_MIGRATION',
      `applied migration${migrationIds.length > 1 ? 's' : ''} ${migrationIds.join(', ')} ` +
        `${migrationIds.length > 1 ? 'are' : 'is'} missing from the source (deleted or renamed?). Restore ${migrationIds.length > 1 ? 'them' : 'it'}, or pass ignoreMissing / --ignore-missing.`,
    );
    this.migrationIds = migrationIds;
  }
}
