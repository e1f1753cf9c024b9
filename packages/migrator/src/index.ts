/**
 * `@stellaops/migrator`: checksummed, per-migration-transactional,
 * concurrency-safe PostgreSQL migrations over Kysely's migration model.
 * @packageDocumentation
 */
export * from './errors/index.js';
export type {
  Migration,
  MigrationStep,
  KyselyMigrationStep,
  ResolvedMigration,
  ResolvedStep,
  ChecksumSource,
} from './migration/migration.js';
export { defineMigration, defineMigrationSet, type MigrationSet } from './migration/define-migrations.js';
export { compareMigrationIds } from './migration/compare-ids.js';
export type { MigrationSource, DirectoryMigrationSource, KyselyMigrationProviderLike, ModuleImporter } from './source/migration-source.js';
export { loadMigrationsFromDirectory } from './source/load-directory.js';
export { resolveMigrations } from './source/resolve-migrations.js';
export { computeMigrationsHash } from './checksum/migrations-hash.js';
export { normalizeSource } from './checksum/normalize-source.js';
export type { MigrationState, MigrationStatusEntry } from './planning/analyze.js';
export type { PlanUpOptions } from './planning/plan-up.js';
export type { PlanDownOptions } from './planning/plan-down.js';
export { SchemaMigrator, type SchemaMigratorOptions } from './runner/schema-migrator.js';
export type { MigrationResult, MigrationStatus, RunReport } from './runner/migration-result.js';
export type { MigratorEvent } from './runner/migrator-event.js';
export type { StatusReport, PlanReport, PlannedMigration, VerifyReport, AcceptReport } from './runner/reports.js';
export { migrateOnStart, type MigrateOnStartOptions } from './start/migrate-on-start.js';
export { silentLogger, type MigratorLogger } from './logging/logger.js';

export { captureSql, renderRecordedQueries, type CaptureResult } from './capture/capture-sql.js';
export { splitSqlStatements, type SqlStatement } from './sql-text/split-statements.js';
export { readSqlDirectives, type SqlFileDirectives } from './sql-text/directives.js';
export type { RecordedQuery } from './capture/recording-driver.js';
