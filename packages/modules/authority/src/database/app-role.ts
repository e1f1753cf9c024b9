import { appRoleGrantsSql, DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the Authority service connects as: a plain
 * `NOSUPERUSER NOBYPASSRLS` role that owns nothing, so row level security
 * always applies to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The database roles Authority's migrations grant to: create them (with
 * `LOGIN` and a password) before migrating as a role without `CREATEROLE`.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE];

/** The schema holding Authority's tables. */
export const AUTHORITY_SCHEMA = 'authority';

/**
 * The app role's grants on the schema (postgres-core's `appRoleGrantsSql`):
 * `USAGE` on the schema (never `CREATE`), DML on every table, `USAGE, SELECT`
 * on sequences, nothing at all on the migrator's `_migrations`. Every
 * migration that creates tables ends with these, so the grants never depend
 * on who owns the tables.
 */
export function appGrantsSql(): string[] {
  return appRoleGrantsSql({ appRole: APP_ROLE, schema: AUTHORITY_SCHEMA, protectTables: ['_migrations'] });
}
