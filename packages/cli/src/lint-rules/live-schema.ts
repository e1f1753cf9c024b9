import pg from 'pg';
import { LINT_RULES, type LintFinding, type LintRuleId } from './rules.js';
import { classifyTenantPolicy, ROTATION_WHEN_PATTERN, SESSION_TAG_PATTERN, tenantTableFindings } from './tenant-policy.js';

/** What `lintLiveSchema` checks. */
export interface LiveSchemaOptions {
  /** Connection string (any role that can read the catalogs). */
  connectionString: string;
  /** The module's schema. */
  schema: string;
  /** The app role (default `stellaops_app`). */
  appRole?: string;
}

interface TableRow {
  name: string;
  rls: boolean;
  force: boolean;
  owner: string;
  tenant: boolean;
  pk_first: string | null;
  bad_privs: string[];
}

interface TenantTableRow {
  table: string;
  /** Standard policies (permissive, FOR ALL, USING and WITH CHECK on tenant_id): their expressions as the catalog prints them. */
  policies: Array<{ using: string; check: string }>;
  tag_column: boolean;
  tag_not_null: boolean;
  tag_default: boolean;
  /**
   * The enabled BEFORE … FOR EACH ROW triggers on `stellaops_security.fill_tenant_tag()` or `rotate_tenant_tag()`:
   * which function, on insert, on an update of `tenant_id` (or of any column), on an update of any column (no
   * `OF` list), whose one argument is `'tenant_id'`.
   */
  tag_triggers: Array<{
    function: 'fill_tenant_tag' | 'rotate_tenant_tag';
    insert: boolean;
    update: boolean;
    update_any: boolean;
    /** Its `WHEN` compares the row's tag with the session's previous-key tag (the rotation trigger's). */
    when_previous: boolean;
    tenant_argument: boolean;
  }>;
}

/**
 * Checks a live schema against the tenancy and privilege rules: tenant tables
 * (those with `tenant_id`) have a `tenant_id`-leading primary key and indexes,
 * ENABLE + FORCE RLS and a standard policy that reads through the row tag (or,
 * slower, `current_tenant()`) and writes through `current_tenant()`, and a
 * policy comparing `tenant_tag` has the tag column, its default and the fill,
 * retag and rotation triggers (the same findings as the migration lint); the app role owns nothing in the
 * schema and has no CREATE on it, no TRUNCATE/REFERENCES/TRIGGER on its
 * tables, and no SUPERUSER/BYPASSRLS/CREATEROLE/CREATEDB. Findings have
 * migration `schema` (waivable in `lint-waivers.json`).
 *
 * @example
 * const findings = await lintLiveSchema({ connectionString: url, schema: 'notify' });
 */
export async function lintLiveSchema(options: LiveSchemaOptions): Promise<LintFinding[]> {
  const role = options.appRole ?? 'stellaops_app';
  const schema = options.schema;
  const client = new pg.Client({ connectionString: options.connectionString, application_name: 'stella-db lint' });
  await client.connect();
  const findings: LintFinding[] = [];
  const push = (rule: LintRuleId, object: string, message: string) =>
    findings.push({ rule, severity: LINT_RULES[rule].severity, migration: 'schema', line: 0, object, message });
  try {
    const roleRows = await client.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      'select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_catalog.pg_roles where rolname = $1',
      [role],
    );
    const appRole = roleRows.rows[0];
    if (appRole) {
      for (const attr of ['rolsuper', 'rolbypassrls', 'rolcreaterole', 'rolcreatedb'] as const) {
        if (appRole[attr])
          push('app-role-privileges', role, `${role} has ${attr.slice(3).toUpperCase()}: alter role ${role} no${attr.slice(3)}`);
      }
    }
    const schemaRow = await client.query<{ owner: string; can_create: boolean | null }>(
      `select pg_catalog.pg_get_userbyid(n.nspowner) as owner,
              case when exists (select from pg_catalog.pg_roles where rolname = $2) then pg_catalog.has_schema_privilege($2, n.oid, 'CREATE') end as can_create
         from pg_catalog.pg_namespace n where n.nspname = $1`,
      [schema, role],
    );
    const s = schemaRow.rows[0];
    if (!s) throw new Error(`schema ${schema} does not exist in that database: migrate it first (stella-db migrate up), or check --url`);
    if (s.owner === role)
      push('app-role-privileges', schema, `schema ${schema} is owned by ${role}: alter schema ${schema} owner to the owner role`);
    if (s.can_create)
      push('app-role-privileges', schema, `${role} may CREATE in schema ${schema}: revoke create on schema ${schema} from ${role}`);
    const owned = await client.query<{ name: string; kind: string }>(
      `select c.relname as name, c.relkind::text as kind from pg_catalog.pg_class c
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and pg_catalog.pg_get_userbyid(c.relowner) = $2
       union all
       select p.proname, 'function' from pg_catalog.pg_proc p
         join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = $1 and pg_catalog.pg_get_userbyid(p.proowner) = $2`,
      [schema, role],
    );
    for (const o of owned.rows)
      push(
        'app-role-privileges',
        `${schema}.${o.name}`,
        `${schema}.${o.name} is owned by ${role}: the app role owns nothing; alter its owner to the owner role`,
      );
    const tables = await client.query<TableRow>(
      `select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as force,
              pg_catalog.pg_get_userbyid(c.relowner) as owner,
              exists (select from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenant,
              (select a.attname from pg_catalog.pg_index i join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                 where i.indrelid = c.oid and i.indisprimary) as pk_first,
              case when exists (select from pg_catalog.pg_roles where rolname = $2) then
                array(select p from unnest(array['TRUNCATE', 'REFERENCES', 'TRIGGER']) p where pg_catalog.has_table_privilege($2, c.oid, p))
              else array[]::text[] end as bad_privs
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relkind in ('r', 'p')
        order by c.relname`,
      [schema, role],
    );
    for (const t of tables.rows) {
      const key = `${schema}.${t.name}`;
      if (t.bad_privs.length > 0)
        push(
          'app-role-privileges',
          key,
          `${role} has ${t.bad_privs.join(', ')} on ${key}: revoke ${t.bad_privs.join(', ').toLowerCase()} on ${key} from ${role}`,
        );
      if (!t.tenant) continue;
      if (t.pk_first !== 'tenant_id')
        push(
          'tenant-pk-leading',
          key,
          `tenant table ${key} has ${t.pk_first ? `a primary key starting with ${t.pk_first}` : 'no primary key'}: make it primary key (tenant_id, …)`,
        );
      if (!t.rls || !t.force)
        push(
          'rls-enable-force',
          key,
          `tenant table ${key} lacks ${[!t.rls && 'ENABLE', !t.force && 'FORCE'].filter(Boolean).join(' and ')} ROW LEVEL SECURITY: alter table ${key} ${!t.rls ? 'enable' : 'force'} row level security`,
        );
    }
    const indexes = await client.query<{ table: string; index: string; first: string | null }>(
      `select t.relname as table, ic.relname as index, a.attname as first
         from pg_catalog.pg_index i
         join pg_catalog.pg_class ic on ic.oid = i.indexrelid
         join pg_catalog.pg_class t on t.oid = i.indrelid
         join pg_catalog.pg_namespace n on n.oid = t.relnamespace
         left join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0] and i.indkey[0] <> 0
        where n.nspname = $1 and not i.indisprimary
          and exists (select from pg_catalog.pg_attribute x where x.attrelid = t.oid and x.attname = 'tenant_id' and not x.attisdropped)
        order by 1, 2`,
      [schema],
    );
    for (const ix of indexes.rows) {
      if (ix.first !== 'tenant_id')
        push(
          'tenant-index-leading',
          `${schema}.${ix.index}`,
          `index ${schema}.${ix.index} on tenant table ${schema}.${ix.table} starts with ${ix.first ?? 'an expression'}: put tenant_id first`,
        );
    }
    const tenantTables = await client.query<TenantTableRow>(
      `select t.relname as table,
              coalesce(json_agg(json_build_object('using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                                                  'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)))
                         filter (where p.polcmd = '*' and p.polpermissive
                                   and pg_catalog.pg_get_expr(p.polqual, p.polrelid) ~ 'tenant_id'
                                   and pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) ~ 'tenant_id'), '[]') as policies,
              tag.attnum is not null as tag_column,
              coalesce(tag.attnotnull, false) as tag_not_null,
              coalesce((select pg_catalog.pg_get_expr(d.adbin, d.adrelid) from pg_catalog.pg_attrdef d
                          where d.adrelid = t.oid and d.adnum = tag.attnum) ~* '${SESSION_TAG_PATTERN.replaceAll("'", "''")}', false) as tag_default,
              coalesce((select json_agg(json_build_object(
                                 'function', f.proname,
                                 'insert', (g.tgtype & 4) <> 0,
                                 'update', (g.tgtype & 16) <> 0 and (pg_catalog.cardinality(g.tgattr::int2[]) = 0
                                   or (select a.attnum from pg_catalog.pg_attribute a where a.attrelid = t.oid and a.attname = 'tenant_id') = any (g.tgattr::int2[])),
                                 'update_any', (g.tgtype & 16) <> 0 and pg_catalog.cardinality(g.tgattr::int2[]) = 0,
                                 'when_previous', pg_catalog.pg_get_triggerdef(g.oid) ~* '${ROTATION_WHEN_PATTERN.replaceAll("'", "''")}',
                                 'tenant_argument', pg_catalog.encode(g.tgargs, 'escape') = 'tenant_id\\000') order by g.tgname)
                          from pg_catalog.pg_trigger g
                          join pg_catalog.pg_proc f on f.oid = g.tgfoid
                          join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
                         where g.tgrelid = t.oid and not g.tgisinternal and g.tgenabled <> 'D'
                           and fn.nspname = 'stellaops_security' and f.proname in ('fill_tenant_tag', 'rotate_tenant_tag')
                           and (g.tgtype & 3) = 3), '[]') as tag_triggers -- (tgtype & 3) = 3: FOR EACH ROW, BEFORE
         from pg_catalog.pg_class t join pg_catalog.pg_namespace n on n.oid = t.relnamespace
         left join pg_catalog.pg_policy p on p.polrelid = t.oid
         left join pg_catalog.pg_attribute tag on tag.attrelid = t.oid and tag.attname = 'tenant_tag' and not tag.attisdropped
        where n.nspname = $1 and t.relkind in ('r', 'p')
          and exists (select from pg_catalog.pg_attribute x where x.attrelid = t.oid and x.attname = 'tenant_id' and not x.attisdropped)
        group by t.oid, t.relname, tag.attnum, tag.attnotnull order by 1`,
      [schema],
    );
    for (const row of tenantTables.rows) {
      const shapes = row.policies.map((p) => classifyTenantPolicy(p.using, p.check));
      // the fill trigger's one argument names the column the tag is computed from
      const fills = row.tag_triggers.filter((g) => g.function === 'fill_tenant_tag' && g.tenant_argument);
      const tag = {
        column: row.tag_column,
        notNull: row.tag_not_null,
        defaulted: row.tag_default,
        fill: fills.some((g) => g.insert),
        retag: fills.some((g) => g.update),
        // a rotation updates any column: the trigger must fire on every update, not on an OF list
        rotate: row.tag_triggers.some((g) => g.function === 'rotate_tenant_tag' && g.update_any && g.when_previous),
      };
      for (const f of tenantTableFindings(schema, row.table, shapes, tag)) push(f.rule, `${schema}.${row.table}`, f.message);
    }
  } finally {
    await client.end();
  }
  return findings;
}
