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
import { APP_ROLE, migrations, WORKER_ROLE } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations), scope: 'file' });
const TABLES = ['channels', 'deliveries', 'rules'];

beforeAll(() => enableRoleLogins(db.server.adminConnectionString, [APP_ROLE, WORKER_ROLE]));

describe('notify schema', () => {
  it('has the module tables, each with ENABLE and FORCE row level security and the tenant policy', async () => {
    const r = await db.pool.query<{ table: string; rls: boolean; force: boolean }>(
      `select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as force
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'notify' and c.relkind = 'r' and c.relname <> '_migrations' order by 1`,
    );
    expect(r.rows).toEqual([
      { table: 'channels', rls: true, force: true },
      { table: 'deliveries', rls: true, force: true },
      { table: 'rules', rls: true, force: true },
    ]);
    const p = await db.pool.query<{ table: string; policy: string; cmd: string; roles: string[]; qual: string; check: string | null }>(
      `select tablename as table, policyname as policy, cmd, roles::text[] as roles, qual, with_check as check
         from pg_policies where schemaname = 'notify' order by 1, 2`,
    );
    expect(p.rows).toEqual([
      {
        table: 'channels',
        policy: 'channels_tenant_isolation',
        cmd: 'ALL',
        roles: ['public'],
        qual: TAGGED_POLICY_USING,
        check: TAGGED_POLICY_CHECK,
      },
      {
        table: 'deliveries',
        policy: 'deliveries_tenant_isolation',
        cmd: 'ALL',
        roles: ['public'],
        qual: TAGGED_POLICY_USING,
        check: TAGGED_POLICY_CHECK,
      },
      { table: 'deliveries', policy: 'deliveries_worker_read', cmd: 'SELECT', roles: [WORKER_ROLE], qual: 'true', check: null },
      {
        table: 'deliveries',
        policy: 'deliveries_worker_settle',
        cmd: 'UPDATE',
        roles: [WORKER_ROLE],
        qual: "(status = ANY (ARRAY['pending'::text, 'processing'::text]))",
        check: 'true',
      },
      {
        table: 'rules',
        policy: 'rules_tenant_isolation',
        cmd: 'ALL',
        roles: ['public'],
        qual: TAGGED_POLICY_USING,
        check: TAGGED_POLICY_CHECK,
      },
    ]);
  });

  it('gives every table a tenant_tag (bytea, not null, the session tag by default) and the fill and retag triggers', async () => {
    expect(await tenantTagSchema(db.pool, 'notify')).toEqual(TABLES.map((table) => expectedTenantTagTable(table)));
  });

  it('leads every primary key and index with tenant_id', async () => {
    const r = await db.pool.query<{ index: string; first: string }>(
      `select i.indexrelid::regclass::text as index, a.attname as first
         from pg_index i
         join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where n.nspname = 'notify' and c.relname <> '_migrations' order by 1`,
    );
    expect(r.rows.length).toBe(12);
    for (const row of r.rows) expect(row.first, row.index).toBe('tenant_id');
  });

  it('gives the app role DML and the worker role only queue-state updates; neither owns anything nor bypasses RLS', async () => {
    expect(await checkAppRole(db.pool, APP_ROLE)).toEqual([]);
    expect(await checkAppRole(db.pool, WORKER_ROLE)).toEqual([]);
    const priv = async (role: string, table: string, privilege: string) =>
      (await db.pool.query<{ ok: boolean }>(`select has_table_privilege($1, $2, $3) as ok`, [role, table, privilege])).rows[0]?.ok;
    const col = async (role: string, column: string) =>
      (await db.pool.query<{ ok: boolean }>(`select has_column_privilege($1, 'notify.deliveries', $2, 'update') as ok`, [role, column]))
        .rows[0]?.ok;
    for (const p of ['select', 'insert', 'update', 'delete']) expect(await priv(APP_ROLE, 'notify.deliveries', p), p).toBe(true);
    for (const p of ['select', 'insert', 'update', 'delete', 'truncate']) {
      expect(await priv(APP_ROLE, 'notify._migrations', p), `app ${p} _migrations`).toBe(false);
      // V003: the worker may read it (readiness: are migrations current?), never change it
      expect(await priv(WORKER_ROLE, 'notify._migrations', p), `worker ${p} _migrations`).toBe(p === 'select');
    }
    expect(await priv(WORKER_ROLE, 'notify.deliveries', 'select')).toBe(true);
    expect(await priv(WORKER_ROLE, 'notify.deliveries', 'insert')).toBe(false);
    expect(await priv(WORKER_ROLE, 'notify.deliveries', 'delete')).toBe(false);
    expect(await priv(WORKER_ROLE, 'notify.channels', 'select')).toBe(true);
    expect(await priv(WORKER_ROLE, 'notify.channels', 'update')).toBe(false);
    for (const c of ['status', 'attempts', 'next_attempt_at', 'locked_by', 'last_error', 'updated_at', 'delivered_at'])
      expect(await col(WORKER_ROLE, c), c).toBe(true);
    for (const c of ['tenant_id', 'tenant_tag', 'id', 'payload', 'channel_id', 'idempotency_key', 'max_attempts'])
      expect(await col(WORKER_ROLE, c), c).toBe(false);
    const schema = await db.pool.query<{ app: boolean; worker: boolean }>(
      `select has_schema_privilege($1, 'notify', 'create') as app, has_schema_privilege($2, 'notify', 'create') as worker`,
      [APP_ROLE, WORKER_ROLE],
    );
    expect(schema.rows[0]).toEqual({ app: false, worker: false });
  });
});
