import type { Migration } from './migration.js';
import type { MigrationSource } from '../source/migration-source.js';

/** A module's migration set: its schema and its migrations. Module packages export one. */
export interface MigrationSet {
  /** The module's schema (tracking table `<schema>._migrations`). */
  schema: string;
  /** The migrations. */
  migrations: MigrationSource;
  /** Tracking table name (default `_migrations`). */
  table?: string;
}

/**
 * Declares a module's migration set (typed identity helper). Export it as
 * `migrations` from the module package so `stella-db migrate --module <name>`
 * finds it.
 *
 * @example
 * export const migrations = defineMigrationSet({ schema: 'authority', migrations: { directory: new URL('../migrations', import.meta.url) } });
 */
export function defineMigrationSet(set: MigrationSet): MigrationSet {
  return set;
}

/** Typed identity helper for one migration object. */
export function defineMigration(migration: Migration): Migration {
  return migration;
}
