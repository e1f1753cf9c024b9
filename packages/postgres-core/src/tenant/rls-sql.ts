import { quoteIdentifier, quoteQualifiedName } from '../sql/identifier.js';
import { TENANT_SETTING } from '../data-source/session-scope.js';
import { PostgresCoreError } from '../errors/postgres-core-error.js';
import { scramSha256Verifier } from './scram-verifier.js';

/** Column types a tenant column may have. */
export type TenantColumnType = 'text' | 'varchar' | 'uuid';

/** Arguments of {@link tenantIsolationSql}. */
export interface TenantIsolationArgs {
  /** Table name. */
  table: string;
  /** Schema name (default: unqualified). */
  schema?: string;
  /** Tenant column (default `tenant_id`). */
  column?: string;
  /** Tenant column type (default `text`). */
  columnType?: TenantColumnType;
  /** Policy name (default `<table>_tenant_isolation`). */
  policyName?: string;
}

/**
 * The statements a migration runs to make a table tenant-isolated:
 * `ENABLE` + `FORCE ROW LEVEL SECURITY` (the owner is subject to it too) and one
 * policy for all commands whose `USING` and `WITH CHECK` compare the tenant
 * column to `nullif(current_setting('app.tenant_id', true), '')`: no tenant set
 * means no row visible and no row writable. Identifiers are validated and quoted.
 *
 * @example
 * ```ts
 * for (const stmt of tenantIsolationSql({ schema: 'notify', table: 'channels' })) await sql.raw(stmt).execute(db);
 * ```
 */
export function tenantIsolationSql(args: TenantIsolationArgs): string[] {
  const table = quoteQualifiedName(args.schema, args.table);
  const column = quoteIdentifier(args.column ?? 'tenant_id');
  const policy = quoteIdentifier(args.policyName ?? `${args.table}_tenant_isolation`);
  const type = args.columnType ?? 'text';
  if (!['text', 'varchar', 'uuid'].includes(type)) throw new PostgresCoreError('INVALID_ARGUMENT', 'columnType must be text, varchar or uuid');
  const predicate = `${column} = nullif(current_setting('${TENANT_SETTING}', true), '')::${type}`;
  return [
    `alter table ${table} enable row level security`,
    `alter table ${table} force row level security`,
    `drop policy if exists ${policy} on ${table}`,
    `create policy ${policy} on ${table} as permissive for all using (${predicate}) with check (${predicate})`,
  ];
}

/** The app role every StellaOps service connects as (owns nothing, cannot bypass RLS). */
export const DEFAULT_APP_ROLE = 'stellaops_app';

/** Arguments of {@link appRoleGrantsSql}. */
export interface AppRoleGrantsArgs {
  /** The application role (owns nothing). */
  appRole: string;
  /**
   * The owner role that runs migrations and owns the objects: when given, its
   * future tables and sequences in the schema are granted too (`ALTER DEFAULT
   * PRIVILEGES`). A SQL migration that does not know its owner leaves it out
   * and re-grants after creating tables.
   */
  ownerRole?: string;
  /** Schema holding the module's tables. */
  schema: string;
  /** Table privileges (default select, insert, update, delete). */
  privileges?: ReadonlyArray<'select' | 'insert' | 'update' | 'delete'>;
  /**
   * Tables of the schema the app role must not touch at all, e.g. the
   * migrator's `_migrations` (must exist when the statements run).
   */
  protectTables?: readonly string[];
}

/**
 * Grants for the owner/app role split: the app role gets `USAGE` on the schema,
 * DML on its existing (and, with `ownerRole`, future) tables and `USAGE,
 * SELECT` on sequences — never ownership, `CREATE`, or `TRUNCATE`; nothing at
 * all on `protectTables`.
 *
 * @example
 * ```ts
 * appRoleGrantsSql({ appRole: 'stellaops_app', schema: 'notify', protectTables: ['_migrations'] });
 * ```
 */
export function appRoleGrantsSql(args: AppRoleGrantsArgs): string[] {
  const app = quoteIdentifier(args.appRole);
  const schema = quoteIdentifier(args.schema);
  const privs = (args.privileges ?? ['select', 'insert', 'update', 'delete']).map((p) => {
    if (!['select', 'insert', 'update', 'delete'].includes(p)) throw new PostgresCoreError('INVALID_ARGUMENT', 'unsupported privilege');
    return p;
  });
  const list = privs.join(', ');
  const statements = [
    `revoke create on schema ${schema} from ${app}`,
    `grant usage on schema ${schema} to ${app}`,
    `grant ${list} on all tables in schema ${schema} to ${app}`,
    `grant usage, select on all sequences in schema ${schema} to ${app}`,
  ];
  if (args.ownerRole !== undefined) {
    const owner = quoteIdentifier(args.ownerRole);
    statements.push(
      `alter default privileges for role ${owner} in schema ${schema} grant ${list} on tables to ${app}`,
      `alter default privileges for role ${owner} in schema ${schema} grant usage, select on sequences to ${app}`,
    );
  }
  for (const table of args.protectTables ?? []) statements.push(`revoke all on table ${quoteQualifiedName(args.schema, table)} from ${app}`);
  return statements;
}

/**
 * A `DO` block a migration runs to create `role` as `NOLOGIN` when it does
 * not exist yet (deployment, or `stella-db up`, gives it `LOGIN` and a
 * password with {@link ensureAppRole}). Idempotent and safe when two modules
 * migrate at once. A migrating role without `CREATEROLE` gets a clear error
 * naming the missing role — and needs nothing when the role exists.
 *
 * @param role a constant role name (validated as an identifier)
 * @example
 * ```ts
 * await sql.raw(createRoleIfMissingSql('stellaops_app')).execute(db);
 * ```
 */
export function createRoleIfMissingSql(role: string): string {
  const quoted = quoteIdentifier(role); // validates: a plain identifier, no quotes
  if (role.includes('$')) throw new PostgresCoreError('INVALID_ARGUMENT', `role name "${role}" must not contain "$" here (it would end the DO block's quoting)`);
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

/** Anything with pg's `query(text, values)` (a `pg.Pool`, `pg.Client`, `pg.PoolClient`). */
export interface Queryable {
  /** Runs a parameterized statement. */
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/**
 * Creates (or updates) a login role fit to be the app role: `NOSUPERUSER
 * NOBYPASSRLS NOCREATEDB NOCREATEROLE`. The name and the password's
 * SCRAM-SHA-256 verifier are bound parameters quoted server-side by
 * `format('%I', '%L')`; the plaintext password never enters SQL text (nor
 * server logs). Idempotent and safe when run concurrently. With
 * `keepExistingPassword`, an existing role keeps its password.
 *
 * @example
 * ```ts
 * await ensureAppRole(adminPool, { role: 'notify_app', password: secret });
 * ```
 */
export async function ensureAppRole(db: Queryable, args: { role: string; password?: string; keepExistingPassword?: boolean }): Promise<void> {
  quoteIdentifier(args.role);
  const attrs = 'login nosuperuser nobypassrls nocreatedb nocreaterole noreplication';
  const build = async (verb: 'create' | 'alter'): Promise<string> => {
    const r = await db.query(
      args.password === undefined
        ? `select format('${verb} role %I with ${attrs}', $1::text) as sql`
        : `select format('${verb} role %I with ${attrs} password %L', $1::text, $2::text) as sql`,
      args.password === undefined ? [args.role] : [args.role, scramSha256Verifier(args.password)],
    );
    return String(r.rows[0]?.sql);
  };
  const exists = await db.query('select 1 from pg_roles where rolname = $1', [args.role]);
  if (exists.rows.length === 0) {
    try {
      await db.query(await build('create'));
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Created concurrently by someone else (42710 duplicate_object, 23505 on pg_authid): fall through to ALTER.
      if (code !== '42710' && code !== '23505') throw e;
    }
  }
  if (args.keepExistingPassword && args.password !== undefined) {
    await ensureAppRole(db, { role: args.role });
    return;
  }
  await db.query(await build('alter'));
}

/**
 * Checks that `role` is fit to be the app role and returns the problems found
 * (empty when fine): superuser, `BYPASSRLS`, or owning any relation.
 */
export async function checkAppRole(db: Queryable, role: string): Promise<string[]> {
  const r = await db.query(
    `select r.rolsuper as super, r.rolbypassrls as bypass,
            (select count(*) from pg_class c where c.relowner = r.oid)::int as owned
       from pg_roles r where r.rolname = $1`,
    [role],
  );
  const row = r.rows[0];
  if (!row) return ['role does not exist'];
  const problems: string[] = [];
  if (row.super) problems.push('is a superuser (bypasses row level security)');
  if (row.bypass) problems.push('has BYPASSRLS');
  if (Number(row.owned) > 0) problems.push(`owns ${String(row.owned)} relation(s) (owners can disable row level security)`);
  return problems;
}
