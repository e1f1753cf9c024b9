import { DEFAULT_APP_ROLE, ensureAppRole, quoteIdentifier } from '@stellaops/postgres-core';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ComponentError } from './errors.js';
import { adminClient, DATABASE } from './postgres-component.js';
import { newPassword } from './state.js';
import { AUTH_ROLE } from './tls-component.js';

/** Role that runs migrations and owns the database, schemas and tables. */
export const OWNER_ROLE = 'stellaops_owner';
/** Role services connect as: owns nothing, cannot bypass row level security. */
export const APP_ROLE = DEFAULT_APP_ROLE;

/** The SECURITY DEFINER function PgBouncer's auth_query calls (superusers never log in through PgBouncer). */
export const AUTH_QUERY = 'SELECT usename, passwd FROM pgbouncer.get_auth($1)';

const AUTH_FUNCTION_SQL = `
create schema if not exists pgbouncer authorization postgres;
revoke all on schema pgbouncer from public;
create or replace function pgbouncer.get_auth(p_usename text)
  returns table (usename name, passwd text)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select rolname, rolpassword from pg_catalog.pg_authid
   where rolname = p_usename and rolcanlogin and not rolsuper and not rolreplication
     and (rolvaliduntil is null or rolvaliduntil > now())
$$;
revoke all on function pgbouncer.get_auth(text) from public;
grant usage on schema pgbouncer to ${AUTH_ROLE};
grant execute on function pgbouncer.get_auth(text) to ${AUTH_ROLE};
`;

/**
 * Roles and the database as `stella-db up` creates them (owner, app and
 * module roles through postgres-core's `ensureAppRole`: LOGIN, no superuser,
 * no BYPASSRLS), passwords generated once and saved only once the roles have
 * them, never rotated by a rerun; the `stellaops` database owned by the
 * owner; `pg_stat_statements`; PgBouncer's lookup role and function.
 */
export class RolesComponent implements ClusterComponent {
  readonly name = 'roles';
  readonly #moduleRoles: readonly string[];

  constructor(moduleRoles: readonly string[]) {
    this.#moduleRoles = moduleRoles.filter((r) => r !== OWNER_ROLE && r !== APP_ROLE);
  }

  get roles(): string[] {
    return [OWNER_ROLE, APP_ROLE, ...this.#moduleRoles];
  }

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    const pw = ctx.secrets.roles;
    const fresh = this.roles.filter((r) => pw[r] === undefined);
    for (const r of fresh) pw[r] = newPassword();
    const admin = adminClient(ctx);
    try {
      await admin.connect();
      for (const role of this.roles) await ensureAppRole(admin, { role, password: pw[role]!, keepExistingPassword: !fresh.includes(role) });
      await ensureAppRole(admin, { role: AUTH_ROLE }); // no password: certificate login only
      if (fresh.length > 0) ctx.saveSecrets(); // only once the roles have them
      const db = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (!db.rowCount) await admin.query(`create database ${quoteIdentifier(DATABASE)} owner ${quoteIdentifier(OWNER_ROLE)}`);
      await admin.query(
        `grant connect on database ${quoteIdentifier(DATABASE)} to ${quoteIdentifier(APP_ROLE)}, ${quoteIdentifier(AUTH_ROLE)}`,
      );
    } catch (e) {
      throw new ComponentError(this.name, `Creating roles and the ${DATABASE} database failed: ${(e as Error).message}`, '', { cause: e });
    } finally {
      await admin.end().catch(() => undefined);
    }
    const db = adminClient(ctx, DATABASE);
    try {
      await db.connect();
      await db.query('create extension if not exists pg_stat_statements');
      await db.query(AUTH_FUNCTION_SQL);
    } catch (e) {
      throw new ComponentError(this.name, `Preparing the ${DATABASE} database failed: ${(e as Error).message}`, '', { cause: e });
    } finally {
      await db.end().catch(() => undefined);
    }
    return this.status(ctx);
  }

  async stop(): Promise<void> {
    // objects in the database: nothing runs
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const db = adminClient(ctx, DATABASE);
    try {
      await db.connect();
      const r = await db.query<{ roles: number; ext: boolean }>(
        `select (select count(*) from pg_roles where rolname = any($1::text[]))::int as roles,
                exists (select 1 from pg_extension where extname = 'pg_stat_statements') as ext`,
        [this.roles],
      );
      const row = r.rows[0]!;
      const ok = row.roles === this.roles.length && row.ext;
      return {
        name: this.name,
        state: ok ? 'ready' : 'missing',
        detail: `${row.roles}/${this.roles.length} roles, pg_stat_statements ${row.ext ? 'created' : 'missing'}`,
      };
    } catch {
      return { name: this.name, state: 'stopped', detail: `database ${DATABASE} not reachable (server down?)` };
    } finally {
      await db.end().catch(() => undefined);
    }
  }
}
