import type { Queryable } from '@stellaops/postgres-core';

/** `pg_policies.qual` of `tenantIsolationSql`'s policy on a `text` tenant column: reads match the row tag. */
export const TAGGED_POLICY_USING =
  "((tenant_id = NULLIF(current_setting('app.tenant_id'::text, true), ''::text)) AND ((tenant_tag = ( SELECT sha256(convert_to(NULLIF(current_setting('app.tenant_proof'::text, true), ''::text), 'UTF8'::name)) AS sha256)) OR (tenant_tag = ( SELECT sha256(convert_to(NULLIF(current_setting('app.tenant_proof_previous'::text, true), ''::text), 'UTF8'::name)) AS sha256))))";

/** `pg_policies.with_check` of that policy: writes need the verified tenant and the session's tag. */
export const TAGGED_POLICY_CHECK =
  "((tenant_id = ( SELECT stellaops_security.current_tenant() AS current_tenant)) AND (tenant_tag = ( SELECT sha256(convert_to(NULLIF(current_setting('app.tenant_proof'::text, true), ''::text), 'UTF8'::name)) AS sha256)))";

/** `information_schema.columns.column_default` of `tenant_tag`: the session's tag. */
export const TENANT_TAG_DEFAULT = "sha256(convert_to(NULLIF(current_setting('app.tenant_proof'::text, true), ''::text), 'UTF8'::name))";

/** One table's row tag as the catalog shows it (see {@link tenantTagSchema}). */
export interface TenantTagTable {
  table: string;
  type: string;
  nullable: string;
  default: string | null;
  /** The table's own (non-internal) triggers, sorted. */
  triggers: string[];
}

/**
 * The `tenant_tag` column and the triggers of every table of `schema` that
 * has one, read from the catalog (as a module's schema test compares them with
 * {@link expectedTenantTagTable}).
 *
 * @example
 * ```ts
 * expect(await tenantTagSchema(db.pool, 'notify')).toEqual(['channels', 'rules'].map((t) => expectedTenantTagTable(t)));
 * ```
 */
export async function tenantTagSchema(db: Queryable, schema: string): Promise<TenantTagTable[]> {
  const r = await db.query(
    `select c.table_name as table, c.data_type as type, c.is_nullable as nullable, c.column_default as default,
            array(select t.tgname::text from pg_catalog.pg_trigger t
                   where t.tgrelid = format('%I.%I', c.table_schema, c.table_name)::regclass and not t.tgisinternal
                   order by 1) as triggers
       from information_schema.columns c
      where c.table_schema = $1 and c.column_name = 'tenant_tag'
      order by 1`,
    [schema],
  );
  return r.rows as unknown as TenantTagTable[];
}

/**
 * What {@link tenantTagSchema} shows for a table `tenantIsolationSql` made
 * tenant-isolated: `bytea`, `NOT NULL`, the session's tag by default, the
 * fill, retag and rotation triggers (plus the table's `otherTriggers`).
 *
 * @example
 * ```ts
 * expectedTenantTagTable('runs', ['runs_status_transition']);
 * ```
 */
export function expectedTenantTagTable(table: string, otherTriggers: readonly string[] = []): TenantTagTable {
  return {
    table,
    type: 'bytea',
    nullable: 'NO',
    default: TENANT_TAG_DEFAULT,
    triggers: [...otherTriggers, `${table}_tenant_tag_fill`, `${table}_tenant_tag_retag`, `${table}_tenant_tag_rotate`].sort(),
  };
}
