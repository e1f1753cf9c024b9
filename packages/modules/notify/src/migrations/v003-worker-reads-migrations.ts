import { defineMigration } from '@stellaops/migrator';

/**
 * V003: the worker role may read `notify._migrations`, so a worker's readiness
 * probe can ask the migrator whether the schema is current (`SchemaMigrator.status()`)
 * with the worker's own credentials — no owner credentials in a running worker.
 * Read only: names, checksums and timestamps of applied migrations, no tenant
 * data. The app role still has nothing on it. Literal SQL: frozen once applied.
 */
export const v003WorkerReadsMigrations = defineMigration({
  id: 'V003_WorkerReadsMigrations',
  description: 'worker role may read notify._migrations (readiness: migrations current)',
  up: `grant select on notify._migrations to stellaops_notify_worker`,
  down: `revoke select on notify._migrations from stellaops_notify_worker`,
});
