import { MigratorError } from './migrator-error.js';

/**
 * A migration definition is unusable: duplicate or malformed id, a
 * no-transaction migration with more than one statement, a SQL file that
 * manages its own transaction, an unknown target id…
 */
export class InvalidMigrationError extends MigratorError {
  /** The migration concerned, when there is one. */
  readonly migrationId: string | undefined;

  /**
   * @param message what is wrong
   * @param migrationId the migration concerned
   * @param options standard error options (`cause`)
   */
  constructor(message: string, migrationId?: string, options?: { cause?: unknown }) {
    super('INVALID_MIGRATION', migrationId ? `migration ${migrationId}: ${message}` : message, options);
    this.migrationId = migrationId;
  }
}
