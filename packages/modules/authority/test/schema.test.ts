import {
  enableRoleLogins,
  expectedTenantTagTable,
  TAGGED_POLICY_CHECK,
  TAGGED_POLICY_USING,
  templateMigrations,
  tenantTagSchema,
} from '@stellaops/module-testkit';
import { checkAppRole } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, migrations } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations), scope: 'file' });

const TABLES = ['clients', 'roles', 'tenants', 'tokens', 'user_roles', 'users'];

beforeAll(() => enableRoleLogins(db.server.adminConnectionString, [APP_ROLE]));

describe('authority schema', () => {
  it('has the module tables, each with ENABLE and FORCE row level security and a tenant policy', async () => {
    const r = await db.pool.query<{
      table: string;
      rls: boolean;
      force: boolean;
      policies: Array<{ name: string; using: string; check: string }>;
    }>(
      `select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as force,
              array(select json_build_object('name', p.policyname, 'using', p.qual, 'check', p.with_check)
                      from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname) as policies
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'authority' and c.relkind = 'r' and c.relname <> '_migrations'
        order by 1`,
    );
    expect(r.rows.map((x) => x.table)).toEqual(TABLES);
    for (const row of r.rows) {
      expect(row, row.table).toMatchObject({ rls: true, force: true });
      // reads compare the row's tag with the session's (an inlined expression, once per statement);
      // writes need the verified tenant (HMAC proof checked by stellaops_security.current_tenant()) and the session's tag
      expect(row.policies, row.table).toEqual([
        { name: `${row.table}_tenant_isolation`, using: TAGGED_POLICY_USING, check: TAGGED_POLICY_CHECK },
      ]);
    }
  });

  it('gives every table a tenant_tag (bytea, not null, the session tag by default) and the fill and retag triggers', async () => {
    expect(await tenantTagSchema(db.pool, 'authority')).toEqual(TABLES.map((table) => expectedTenantTagTable(table)));
  });

  it('leads every primary key and index with tenant_id', async () => {
    const r = await db.pool.query<{ index: string; first: string }>(
      `select i.indexrelid::regclass::text as index, a.attname as first
         from pg_index i
         join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where n.nspname = 'authority' and c.relname <> '_migrations'
        order by 1`,
    );
    expect(r.rows.length).toBeGreaterThanOrEqual(TABLES.length + 5);
    for (const row of r.rows) expect(row.first, row.index).toBe('tenant_id');
  });

  it('grants the app role DML on module tables only (not the migration history): it owns nothing, cannot create in the schema and is no superuser or BYPASSRLS', async () => {
    expect(await checkAppRole(db.pool, APP_ROLE)).toEqual([]);
    const r = await db.pool.query<{ create: boolean; usage: boolean; truncate: boolean; del: boolean }>(
      `select has_schema_privilege($1, 'authority', 'create') as create,
              has_schema_privilege($1, 'authority', 'usage') as usage,
              has_table_privilege($1, 'authority.users', 'truncate') as truncate,
              has_table_privilege($1, 'authority.users', 'delete') as del`,
      [APP_ROLE],
    );
    expect(r.rows[0]).toEqual({ create: false, usage: true, truncate: false, del: true });
    const tracking = await db.pool.query<{ sel: boolean; ins: boolean; upd: boolean; del: boolean }>(
      `select has_table_privilege($1, 'authority._migrations', 'select') as sel, has_table_privilege($1, 'authority._migrations', 'insert') as ins,
              has_table_privilege($1, 'authority._migrations', 'update') as upd, has_table_privilege($1, 'authority._migrations', 'delete') as del`,
      [APP_ROLE],
    );
    expect(tracking.rows[0]).toEqual({ sel: false, ins: false, upd: false, del: false });
  });
});
