import { MigratorError } from '../errors/migrator-error.js';
import { silentLogger } from '../logging/logger.js';
import type { RunReport } from '../runner/migration-result.js';
import { SchemaMigrator, type SchemaMigratorOptions } from '../runner/schema-migrator.js';

/** Options of `migrateOnStart`: those of `SchemaMigrator`; `lockWaitMs` bounds the wait for other replicas. */
export type MigrateOnStartOptions = SchemaMigratorOptions;

/**
 * What a service calls at startup (the seed's hosted service): waits for the
 * migration lock within `lockWaitMs` (other replicas may be migrating),
 * applies what is pending, logs the plan and the outcome, and throws a typed
 * `MigratorError` on any failure so the service does not start on a
 * half-known schema.
 *
 * @example
 * await migrateOnStart({ connectionString: process.env.Postgres__ConnectionString!, schema: 'authority', migrations, logger });
 */
export async function migrateOnStart(options: MigrateOnStartOptions): Promise<RunReport> {
  const log = options.logger ?? silentLogger;
  const migrator = new SchemaMigrator(options);
  try {
    const report = await migrator.up();
    log.info(
      {
        schema: options.schema,
        applied: report.results.map((r) => r.id),
        lockWaitMs: Math.round(report.lockWaitMs),
        durationMs: Math.round(report.durationMs),
      },
      report.results.length > 0
        ? `schema ${options.schema} migrated (${report.results.length} applied)`
        : `schema ${options.schema} up to date`,
    );
    return report;
  } catch (error) {
    const typed =
      error instanceof MigratorError
        ? error
        : new MigratorError('MIGRATE_ON_START_FAILED', `migrating schema ${options.schema} at startup failed: ${String(error)}`, {
            cause: error,
          });
    log.error(
      { schema: options.schema, code: typed.code, err: typed },
      `schema ${options.schema} migration failed at startup: refusing to start`,
    );
    throw typed;
  }
}
