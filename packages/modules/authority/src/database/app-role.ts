import { appRoleGrantsSql, quoteIdentifier } from '@stellaops/postgres-core';

/**
 * The application role the Authority service connects as: a plain
 * `NOSUPERUSER NOBYPASSRLS` role that owns nothing, so row level security
 * always applies to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = 'stellaops_app';

/**
 * The database roles Authority's migrations grant to: create them (with
 * `LOGIN` and a password) before migrating as a role without `CREATEROLE`.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE];

/** The schema holding Authority's tables. */
export const AUTHORITY_SCHEMA = 'authority';

/**
 * A `DO` block that creates `role` as `NOLOGIN` when it does not exist yet
 * (`stella-db up` or the operator gives it `LOGIN` and a password, e.g. with
 * postgres-core's `ensureAppRole`). Idempotent and safe when two modules
 * migrate at the same time. Creating the role needs `CREATEROLE`: a migrator
 * role without it (such as `stellaops_owner`) gets a clear error naming the
 * missing role; when the role exists already, nothing is needed.
 *
 * @param role a constant role name (validated as an identifier)
 */
export function ensureRoleSql(role: string): string {
  const quoted = quoteIdentifier(role);
  return `do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = '${role}') then
    begin
      create role ${quoted} nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication;
    exception
      when duplicate_object or unique_violation then
        null;
      when insufficient_privilege then
        raise exception 'role ${role} does not exist and % may not create it', current_user
          using errcode = 'insufficient_privilege',
                hint = 'create it first (stella-db up does, or postgres-core ensureAppRole), or migrate as a role with CREATEROLE';
    end;
  end if;
end
$$`;
}

/**
 * The app role's grants on the Authority schema, from postgres-core's
 * `appRoleGrantsSql`: `USAGE` on the schema (never `CREATE`), DML on every
 * table, `USAGE, SELECT` on sequences. Every migration that creates tables
 * ends with these, so the grants never depend on who owns the tables;
 * `ALTER DEFAULT PRIVILEGES FOR ROLE <owner>` is left out because a SQL-text
 * migration does not know the owner role's name. "All tables" includes the
 * migrator's tracking table, so the app role's rights on it are revoked again:
 * the application must not rewrite migration history.
 */
export function appGrantsSql(): string[] {
  return [
    ...appRoleGrantsSql({ appRole: APP_ROLE, ownerRole: APP_ROLE, schema: AUTHORITY_SCHEMA }).filter(
      (statement) => !statement.startsWith('alter default privileges'),
    ),
    `revoke all on table ${quoteIdentifier(AUTHORITY_SCHEMA)}."_migrations" from ${quoteIdentifier(APP_ROLE)}`,
  ];
}
