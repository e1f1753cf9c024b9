import { quoteIdentifier, quoteQualifiedName } from '../sql/identifier.js';
import { CURRENT_TENANT_FUNCTION, PREVIOUS_SESSION_TAG_SQL, SESSION_TAG_SQL, TENANT_TAG_COLUMN } from './security-migrations.js';
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
 * The statements a NEW migration runs to make a table tenant-isolated (as the
 * table's owner, after postgres-core's security migrations):
 *
 * - the row tag column `tenant_tag bytea` (sha256 of the tenant's proof),
 *   backfilled for existing rows with the newest installed key (FORCE is
 *   lifted for the backfill, inside the migration's transaction), defaulting
 *   to the session's tag, `NOT NULL`;
 * - triggers that tag a row written without a tag or for a tenant other than
 *   the session's (an owner's insert, a worker role writing for a tenant) from
 *   its tenant column, and re-tag a row whose tenant changes (the trigger's
 *   `WHEN` keeps it from firing on a tenant session's own rows, which carry
 *   the session's tag by default); and the rotation trigger
 *   (`<table>_tenant_tag_rotate`, see {@link tenantTagRotationSql});
 * - `ENABLE` + `FORCE ROW LEVEL SECURITY` (the owner is subject to it too) and
 *   one policy for all commands. `USING` (what a statement may see, update or
 *   delete): the tenant column equals `app.tenant_id` AND the row's tag is
 *   the sha256 of the session's proof (or of its previous-key proof,
 *   evaluated only for rows the first fails: key rotation), each an initplan
 *   evaluated once per statement — the bodies of
 *   `stellaops_security.session_tag()` / `previous_session_tag()` written
 *   out ({@link SESSION_TAG_SQL}), so no function is called or inlined (an
 *   inlined SQL function is parsed again at every planning). `WITH CHECK`
 *   (what it may write): the tenant column equals the HMAC-verified
 *   `(select stellaops_security.current_tenant())` and the tag is the
 *   session's. A tenant set without a valid proof, or none, means no row
 *   visible and none writable.
 *
 * A `uuid` tenant column compares as `uuid`, but tags hash the tenant id as
 * text: use the canonical (lower-case) form as the tenant id, or rows an
 * owner writes get a tag the tenant's sessions do not match.
 *
 * Identifiers are validated and quoted. Applied migrations must keep their
 * literal text: paste the output into a new migration rather than calling this
 * at run time.
 *
 * @example
 * ```ts
 * tenantIsolationSql({ schema: 'notify', table: 'channels' }).join(';\n'); // paste into V00x_….sql
 * ```
 */
export function tenantIsolationSql(args: TenantIsolationArgs): string[] {
  const table = quoteQualifiedName(args.schema, args.table);
  const column = quoteIdentifier(args.column ?? 'tenant_id');
  const policy = quoteIdentifier(args.policyName ?? `${args.table}_tenant_isolation`);
  const fillTrigger = quoteIdentifier(`${args.table}_tenant_tag_fill`);
  const retagTrigger = quoteIdentifier(`${args.table}_tenant_tag_retag`);
  const type = args.columnType ?? 'text';
  if (!['text', 'varchar', 'uuid'].includes(type))
    throw new PostgresCoreError('INVALID_ARGUMENT', 'columnType must be text, varchar or uuid');
  const cast = type === 'text' ? '' : `::${type}`;
  const tag = TENANT_TAG_COLUMN;
  // the trigger argument is the column's name as a string literal (quoteIdentifier validated it: no quotes inside)
  const columnLiteral = `'${(args.column ?? 'tenant_id').replaceAll("'", "''")}'`;
  const using = `${column} = nullif(current_setting('app.tenant_id', true), '')${cast} and (${tag} = (select ${SESSION_TAG_SQL}) or ${tag} = (select ${PREVIOUS_SESSION_TAG_SQL}))`;
  const check = `${column} = (select ${CURRENT_TENANT_FUNCTION})${cast} and ${tag} = (select ${SESSION_TAG_SQL})`;
  return [
    `alter table ${table} add column if not exists ${tag} bytea`,
    `alter table ${table} no force row level security`,
    `update ${table} set ${tag} = stellaops_security.tenant_tag(${column}::text) where ${tag} is null`,
    `alter table ${table} alter column ${tag} set default ${SESSION_TAG_SQL}`,
    `alter table ${table} alter column ${tag} set not null`,
    `drop trigger if exists ${fillTrigger} on ${table}`,
    `create trigger ${fillTrigger} before insert on ${table} for each row when (new.${tag} is null or ${type === 'text' ? `new.${column}::text` : `new.${column}`} is distinct from nullif(current_setting('app.tenant_id', true), '')${cast}) execute function stellaops_security.fill_tenant_tag(${columnLiteral})`,
    `drop trigger if exists ${retagTrigger} on ${table}`,
    `create trigger ${retagTrigger} before update of ${column} on ${table} for each row when (new.${column} is distinct from old.${column}) execute function stellaops_security.fill_tenant_tag(${columnLiteral})`,
    ...tenantTagRotationSql(args),
    `alter table ${table} enable row level security`,
    `alter table ${table} force row level security`,
    `drop policy if exists ${policy} on ${table}`,
    `create policy ${policy} on ${table} as permissive for all using (${using}) with check (${check})`,
  ];
}

/**
 * The rotation trigger of {@link tenantIsolationSql} alone (drop if exists,
 * create), for a NEW migration on a table made tenant-isolated before it
 * existed. `<table>_tenant_tag_rotate` fires before an update of a row whose
 * tag is the session's previous-key tag (`app.tenant_proof_previous`, sent
 * only during a key rotation) and calls `stellaops_security.rotate_tenant_tag()`
 * (security migrations V003/V004): when the session is HMAC-verified for a
 * tenant T and the row carries T's canonical previous-key tag, it sets T's
 * canonical current-key tag — the one `WITH CHECK` demands. Without it, a
 * unit could not update a row not yet re-tagged: `WITH CHECK` requires the
 * session's tag, and the row keeps its old one. It never fires outside a
 * rotation (the previous tag is then NULL), and never moves a tag to another
 * tenant.
 *
 * @example
 * ```ts
 * tenantTagRotationSql({ schema: 'notify', table: 'channels' });
 * // ['drop trigger if exists "channels_tenant_tag_rotate" on "notify"."channels"', 'create trigger … execute function stellaops_security.rotate_tenant_tag()']
 * ```
 */
export function tenantTagRotationSql(args: Pick<TenantIsolationArgs, 'table' | 'schema'>): string[] {
  const table = quoteQualifiedName(args.schema, args.table);
  const trigger = quoteIdentifier(`${args.table}_tenant_tag_rotate`);
  const tag = TENANT_TAG_COLUMN;
  return [
    `drop trigger if exists ${trigger} on ${table}`,
    `create trigger ${trigger} before update on ${table} for each row when (new.${tag} = ${PREVIOUS_SESSION_TAG_SQL}) execute function stellaops_security.rotate_tenant_tag()`,
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
  for (const table of args.protectTables ?? [])
    statements.push(`revoke all on table ${quoteQualifiedName(args.schema, table)} from ${app}`);
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
  if (role.includes('$'))
    throw new PostgresCoreError('INVALID_ARGUMENT', `role name "${role}" must not contain "$" here (it would end the DO block's quoting)`);
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
export async function ensureAppRole(
  db: Queryable,
  args: { role: string; password?: string; keepExistingPassword?: boolean },
): Promise<void> {
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
 * Built-in functions that run a query given as a string (dynamic SQL no
 * lexical check can see): revoked from `PUBLIC` by {@link appRoleHardeningSql}.
 */
export const DYNAMIC_SQL_FUNCTIONS: readonly string[] = [
  'pg_catalog.query_to_xml(text, boolean, boolean, text)',
  'pg_catalog.query_to_xmlschema(text, boolean, boolean, text)',
  'pg_catalog.query_to_xml_and_xmlschema(text, boolean, boolean, text)',
  'pg_catalog.cursor_to_xml(refcursor, integer, boolean, boolean, text)',
  'pg_catalog.cursor_to_xmlschema(refcursor, boolean, boolean, text)',
  'pg_catalog.ts_stat(text)',
  'pg_catalog.ts_stat(text, text)',
  'pg_catalog.ts_rewrite(tsquery, text)',
];

/** Arguments of {@link appRoleHardeningSql}. */
export interface AppRoleHardeningArgs {
  /** The database (the statements act on it and its `pg_catalog`; run them connected to it). */
  database: string;
  /** The app role. */
  appRole: string;
  /** The owner role that runs migrations: keeps `USAGE` on plpgsql (for `DO` blocks in migrations). */
  ownerRole?: string;
}

/**
 * Least privilege for the app role, run per database as a superuser (the
 * `pg_catalog` functions belong to the bootstrap superuser): no `TEMP` (also
 * revoked from `PUBLIC`, which has it by default), no `CREATE` on the
 * database or schema `public`, no plpgsql for `PUBLIC` (no `DO` blocks, no
 * function creation; the owner keeps it), the dynamic-SQL built-ins
 * ({@link DYNAMIC_SQL_FUNCTIONS}) revoked from `PUBLIC`, and the app role's
 * role-level settings (`ALTER ROLE … SET`) cleared. Idempotent.
 *
 * @example
 * ```ts
 * for (const s of appRoleHardeningSql({ database: 'stellaops', appRole: 'stellaops_app', ownerRole: 'stellaops_owner' })) await superuser.query(s);
 * ```
 */
export function appRoleHardeningSql(args: AppRoleHardeningArgs): string[] {
  const db = quoteIdentifier(args.database);
  const app = quoteIdentifier(args.appRole);
  const statements = [
    `revoke temporary, create on database ${db} from public`,
    `revoke temporary, create on database ${db} from ${app}`,
    `revoke create on schema public from public`,
    `revoke create on schema public from ${app}`,
    `revoke usage on language plpgsql from public`,
    `revoke usage on language plpgsql from ${app}`,
    ...DYNAMIC_SQL_FUNCTIONS.flatMap((f) => [`revoke execute on function ${f} from public`, `revoke execute on function ${f} from ${app}`]),
    `alter role ${app} reset all`,
    `alter role ${app} in database ${db} reset all`,
  ];
  if (args.ownerRole !== undefined) statements.push(`grant usage on language plpgsql to ${quoteIdentifier(args.ownerRole)}`);
  return statements;
}

/**
 * Checks that `role` is fit to be the app role in the database `db` is
 * connected to, and returns the problems found (empty when fine): superuser,
 * `BYPASSRLS`, `CREATEROLE`, `CREATEDB`, owning any relation, `TEMP` or
 * `CREATE` on the database, `CREATE` on any schema, `USAGE` on plpgsql,
 * `EXECUTE` on a dynamic-SQL built-in, role-level settings (`ALTER ROLE … SET`,
 * which a role may always do to itself), no `EXECUTE` on
 * `stellaops_security.current_tenant()` when that schema exists (the read
 * policies need nothing more: they carry the session tag expression itself).
 *
 * @example
 * ```ts
 * const problems = await checkAppRole(adminPool, 'stellaops_app'); // [] when fine
 * ```
 */
export async function checkAppRole(db: Queryable, role: string): Promise<string[]> {
  const r = await db.query(
    `select r.rolsuper as super, r.rolbypassrls as bypass, r.rolcreaterole as createrole, r.rolcreatedb as createdb,
            (select count(*) from pg_catalog.pg_class c where c.relowner = r.oid)::int as owned,
            pg_catalog.has_database_privilege(r.oid, pg_catalog.current_database(), 'TEMP') as temp,
            pg_catalog.has_database_privilege(r.oid, pg_catalog.current_database(), 'CREATE') as dbcreate,
            array(select n.nspname::text from pg_catalog.pg_namespace n
                   where pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE') order by 1) as schemas,
            pg_catalog.has_language_privilege(r.oid, 'plpgsql', 'USAGE') as plpgsql,
            array(select f from pg_catalog.unnest($2::text[]) f
                   where pg_catalog.has_function_privilege(r.oid, f, 'EXECUTE')) as dynamic,
            array(select split_part(cfg, '=', 1) from pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) cfg
                   where s.setrole = r.oid
                     and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database()))
                   order by 1) as settings,
            case when pg_catalog.to_regprocedure('stellaops_security.current_tenant()') is null then null
                 else pg_catalog.has_function_privilege(r.oid, 'stellaops_security.current_tenant()', 'EXECUTE') end as verify
       from pg_catalog.pg_roles r where r.rolname = $1`,
    [role, DYNAMIC_SQL_FUNCTIONS],
  );
  const row = r.rows[0];
  if (!row) return ['role does not exist'];
  const problems: string[] = [];
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  if (row.super) problems.push('is a superuser (bypasses row level security)');
  if (row.bypass) problems.push('has BYPASSRLS');
  if (row.createrole) problems.push('has CREATEROLE');
  if (row.createdb) problems.push('has CREATEDB');
  if (Number(row.owned) > 0) problems.push(`owns ${String(row.owned)} relation(s) (owners can disable row level security)`);
  if (row.temp) problems.push('has TEMP on the database (temp objects can shadow tables; revoke it from PUBLIC too)');
  if (row.dbcreate) problems.push('has CREATE on the database');
  if (list(row.schemas).length > 0) problems.push(`has CREATE on schema(s) ${list(row.schemas).join(', ')}`);
  if (row.plpgsql) problems.push('has USAGE on language plpgsql (DO blocks; revoke it from PUBLIC)');
  if (list(row.dynamic).length > 0) problems.push(`may execute dynamic-SQL built-ins ${list(row.dynamic).join(', ')} (revoke from PUBLIC)`);
  if (list(row.settings).length > 0) problems.push(`has role-level settings (ALTER ROLE … SET): ${list(row.settings).join(', ')}`);
  if (row.verify === false) problems.push('may not execute stellaops_security.current_tenant() (tenant policies would deny everything)');
  return problems;
}
