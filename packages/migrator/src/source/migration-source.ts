import type { Migration } from '../migration/migration.js';

/** Imports a module by file URL (e.g. through tsx for `.ts` files). */
export type ModuleImporter = (fileUrl: string) => Promise<unknown>;

/** A folder of migrations: `*.sql` (+ `*.down.sql`) and/or TS/JS modules. */
export interface DirectoryMigrationSource {
  /** Folder path or `file:` URL. */
  directory: string | URL;
  /** How to import TS/JS migration modules; defaults to `import()`. */
  importModule?: ModuleImporter;
}

/** Kysely's `MigrationProvider` shape (e.g. `FileMigrationProvider`). */
export interface KyselyMigrationProviderLike {
  /** Returns migrations keyed by name. */
  getMigrations(): Promise<Record<string, { up: Migration['up']; down?: Migration['down'] }>>;
}

/**
 * Where a migration set comes from: an array of migrations, a folder, a
 * function returning migrations, or a Kysely `MigrationProvider`.
 */
export type MigrationSource =
  readonly Migration[] | DirectoryMigrationSource | KyselyMigrationProviderLike | (() => Promise<readonly Migration[]>);
