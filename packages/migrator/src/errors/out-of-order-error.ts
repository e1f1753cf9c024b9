import { MigratorError } from './migrator-error.js';

/**
 * A pending migration sorts before the newest applied one (e.g. a hotfix
 * merged late). Applying it is refused unless `allowOutOfOrder` is set.
 */
export class OutOfOrderError extends MigratorError {
  /** Pending migrations older than the newest applied one. */
  readonly migrationIds: readonly string[];
  /** The newest applied migration. */
  readonly newestAppliedId: string;

  /**
   * @param migrationIds pending migrations older than `newestAppliedId`
   * @param newestAppliedId the newest applied migration
   */
  constructor(migrationIds: readonly string[], newestAppliedId: string) {
    super(
      'OUT_OF_ORDER',
      `out-of-order migration${migrationIds.length > 1 ? 's' : ''} ${migrationIds.join(', ')} ` +
        `${migrationIds.length > 1 ? 'are' : 'is'} older than the newest applied migration ${newestAppliedId}. ` +
        'Rename it after the newest, or allow out-of-order migrations (allowOutOfOrder / --allow-out-of-order).',
    );
    this.migrationIds = migrationIds;
    this.newestAppliedId = newestAppliedId;
  }
}
