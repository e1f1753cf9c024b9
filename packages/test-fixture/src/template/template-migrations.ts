import type { FixtureTenantKey } from '../server/tenant-key.js';
import { PREFIX, shortHash, slug } from './names.js';

/** The database a migration function is asked to migrate. */
export interface MigrationTarget {
  /** Superuser URL of the (empty) database being built into a template. */
  connectionString: string;
  /** Its name. */
  database: string;
  /**
   * The server's test tenant key (see `fixtureTenantKey`): a migration set that
   * installs `@stellaops/postgres-core`'s security schema installs this key, so
   * data sources opened with `db.server.tenantKey` can prove their tenant.
   */
  tenantKey: FixtureTenantKey;
}

/**
 * The schema a test database starts with: a function that migrates an empty
 * database, plus what identifies that schema. The template is rebuilt only
 * when `name` or `hash` changes, so give `hash` whenever the migrations live
 * outside the function (module-testkit's `templateMigrations()` does).
 *
 * @example
 * ```ts
 * const set: TemplateMigrations = {
 *   name: 'authority',
 *   hash: checksumOfAllMigrations,
 *   migrate: async ({ connectionString }) => { await runAuthorityMigrations(connectionString) },
 * };
 * ```
 */
export interface TemplateMigrations {
  /** Short name, part of the template's database name (e.g. `authority`). */
  name: string;
  /** Content hash of the migrations; when omitted, the `migrate` function's source text is hashed. */
  hash?: string;
  /** Applies the schema to an empty database. Leave no connection open when done. */
  migrate(target: MigrationTarget): Promise<void>;
}

/** The empty schema: a template with nothing in it. */
export const EMPTY_TEMPLATE_MIGRATIONS: TemplateMigrations = { name: 'empty', hash: 'empty-v1', migrate: async () => undefined };

/**
 * Template database name for a migration set: `fx_t_<name>_<16 hex of its hash>`
 * (`salt`, e.g. the server's tenant key id, is hashed in too).
 */
export function templateNameOf(set: TemplateMigrations, salt = ''): { name: string; key: string } {
  const key = shortHash(set.name, (set.hash ?? set.migrate.toString()) + (salt ? `\0${salt}` : ''));
  return { name: `${PREFIX.template}${slug(set.name, 24)}_${key}`, key };
}
