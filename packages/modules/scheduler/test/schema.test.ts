import {
  expectedTenantTagTable,
  TAGGED_POLICY_CHECK,
  TAGGED_POLICY_USING,
  templateMigrations,
  tenantTagSchema,
  useModuleRoles,
} from '@stellaops/module-testkit';
import { checkAppRole } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { APP_ROLE, migrations, RunPlanner, RunQueue, ScheduleRepository, WORKER_ROLE, type DB } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Scheduler', roles: [APP_ROLE, WORKER_ROLE] });

describe('scheduler schema', () => {
  it('has both tables with ENABLE and FORCE row level security, the tenant policy, and the worker policies', async () => {
    const r = await db.pool.query(
      `select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as force
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'scheduler' and c.relkind = 'r' and c.relname <> '_migrations' order by 1`,
    );
    expect(r.rows).toEqual([
      { table: 'runs', rls: true, force: true },
      { table: 'schedules', rls: true, force: true },
    ]);
    const p = await db.pool.query(
      `select tablename as table, policyname as policy, cmd, roles::text[] as roles, qual, with_check as check from pg_policies where schemaname = 'scheduler' order by 1, 2`,
    );
    expect(p.rows).toEqual([
      {
        table: 'runs',
        policy: 'runs_tenant_isolation',
        cmd: 'ALL',
        roles: ['public'],
        qual: TAGGED_POLICY_USING,
        check: TAGGED_POLICY_CHECK,
      },
      { table: 'runs', policy: 'runs_worker_plan', cmd: 'INSERT', roles: [WORKER_ROLE], qual: null, check: "(status = 'queued'::text)" },
      { table: 'runs', policy: 'runs_worker_read', cmd: 'SELECT', roles: [WORKER_ROLE], qual: 'true', check: null },
      {
        table: 'runs',
        policy: 'runs_worker_settle',
        cmd: 'UPDATE',
        roles: [WORKER_ROLE],
        qual: "(status = ANY (ARRAY['queued'::text, 'running'::text]))",
        check: 'true',
      },
      {
        table: 'schedules',
        policy: 'schedules_tenant_isolation',
        cmd: 'ALL',
        roles: ['public'],
        qual: TAGGED_POLICY_USING,
        check: TAGGED_POLICY_CHECK,
      },
      { table: 'schedules', policy: 'schedules_worker_advance', cmd: 'UPDATE', roles: [WORKER_ROLE], qual: 'enabled', check: 'enabled' },
      { table: 'schedules', policy: 'schedules_worker_read', cmd: 'SELECT', roles: [WORKER_ROLE], qual: 'true', check: null },
    ]);
  });

  it('defaults tenant_id to the verified tenant (V003) and lets the worker call current_tenant(), which every tenant policy evaluates', async () => {
    const d = await db.pool.query(
      `select table_name as table, column_default as default from information_schema.columns
        where table_schema = 'scheduler' and column_name = 'tenant_id' order by 1`,
    );
    expect(d.rows).toEqual([
      { table: 'runs', default: 'stellaops_security.current_tenant()' },
      { table: 'schedules', default: 'stellaops_security.current_tenant()' },
    ]);
    const f = await db.pool.query<{ ok: boolean }>(
      `select has_function_privilege($1, 'stellaops_security.current_tenant()', 'execute') as ok`,
      [WORKER_ROLE],
    );
    expect(f.rows[0]?.ok).toBe(true);
  });

  it('gives both tables a tenant_tag (bytea, not null, the session tag by default), and the fill and retag triggers', async () => {
    expect(await tenantTagSchema(db.pool, 'scheduler')).toEqual([
      expectedTenantTagTable('runs', ['runs_status_transition']),
      expectedTenantTagTable('schedules'),
    ]);
  });

  it('ignores a tenant set by SQL alone (no proof): neither app nor worker tenant sessions see or write its rows', async () => {
    const app = sources.open();
    await new ScheduleRepository(app.forTenant('acme')).create({ name: 'only-acme', cron: '* * * * *' });
    for (const role of [APP_ROLE, WORKER_ROLE]) {
      const raw = new pg.Client(sources.url(role));
      await raw.connect();
      try {
        await raw.query("select set_config('app.tenant_id', 'acme', false)");
        expect((await raw.query('select 1 from scheduler.runs')).rows, role).toEqual([]);
        if (role === APP_ROLE) {
          expect((await raw.query('select 1 from scheduler.schedules')).rows).toEqual([]);
          for (const insert of [
            "insert into scheduler.schedules (name, cron) values ('forged', '* * * * *')",
            "insert into scheduler.schedules (tenant_id, name, cron) values ('acme', 'forged', '* * * * *')",
          ])
            await expect(raw.query(insert), insert).rejects.toMatchObject({ code: '42501' }); // the policy's check: no verified tenant
        } else {
          expect((await raw.query('select name from scheduler.schedules')).rows).toEqual([{ name: 'only-acme' }]); // its own read policy, unchanged
        }
      } finally {
        await raw.end();
      }
    }
  });

  it('leads every primary key, unique constraint and index with tenant_id', async () => {
    const r = await db.pool.query<{ index: string; first: string }>(
      `select i.indexrelid::regclass::text as index, a.attname as first
         from pg_index i
         join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where n.nspname = 'scheduler' and c.relname <> '_migrations' order by 1`,
    );
    expect(r.rows.map((x) => x.index)).toEqual([
      'scheduler.runs_one_per_tick',
      'scheduler.runs_pkey',
      'scheduler.runs_tenant_due_idx',
      'scheduler.schedules_pkey',
      'scheduler.schedules_tenant_due_idx',
      'scheduler.schedules_tenant_name_key',
    ]);
    for (const row of r.rows) expect(row.first, row.index).toBe('tenant_id');
  });

  it('gives the app role DML, the worker role only planning and run-state columns; neither owns anything nor bypasses RLS', async () => {
    expect(await checkAppRole(db.pool, APP_ROLE)).toEqual([]);
    expect(await checkAppRole(db.pool, WORKER_ROLE)).toEqual([]);
    const table = async (role: string, t: string, p: string) =>
      (await db.pool.query<{ ok: boolean }>('select has_table_privilege($1, $2, $3) as ok', [role, t, p])).rows[0]?.ok;
    const column = async (role: string, t: string, c: string, p: string) =>
      (await db.pool.query<{ ok: boolean }>('select has_column_privilege($1, $2, $3, $4) as ok', [role, t, c, p])).rows[0]?.ok;
    for (const p of ['select', 'insert', 'update', 'delete']) expect(await table(APP_ROLE, 'scheduler.runs', p), p).toBe(true);
    for (const role of [APP_ROLE, WORKER_ROLE])
      for (const p of ['select', 'insert', 'update', 'delete']) expect(await table(role, 'scheduler._migrations', p)).toBe(false);
    expect(await table(WORKER_ROLE, 'scheduler.schedules', 'insert')).toBe(false);
    expect(await table(WORKER_ROLE, 'scheduler.schedules', 'delete')).toBe(false);
    expect(await table(WORKER_ROLE, 'scheduler.runs', 'delete')).toBe(false);
    expect(await column(WORKER_ROLE, 'scheduler.schedules', 'next_fire_at', 'update')).toBe(true);
    for (const c of ['cron', 'time_zone', 'enabled', 'payload', 'tenant_id', 'tenant_tag', 'name'])
      expect(await column(WORKER_ROLE, 'scheduler.schedules', c, 'update'), c).toBe(false);
    for (const c of ['status', 'locked_by', 'lease_expires_at', 'attempts', 'finished_at', 'error'])
      expect(await column(WORKER_ROLE, 'scheduler.runs', c, 'update'), c).toBe(true);
    for (const c of ['tenant_id', 'tenant_tag', 'schedule_id', 'scheduled_for', 'id'])
      expect(await column(WORKER_ROLE, 'scheduler.runs', c, 'update'), c).toBe(false);
    for (const c of ['status', 'locked_by', 'attempts', 'tenant_tag'])
      expect(await column(WORKER_ROLE, 'scheduler.runs', c, 'insert'), c).toBe(false);
  });

  it("keeps the worker role to its policies: no finished run changes, no non-queued inserts, no disabled schedule advanced, no tenant's schedule rewritten", async () => {
    const app = sources.open();
    const worker = sources.open(WORKER_ROLE);
    const repo = new ScheduleRepository(app.forTenant('acme'));
    const s = await repo.create({ name: 's', cron: '* * * * *', from: new Date(Date.now() - 120_000) });
    const [run] = (await new RunPlanner(worker.db).planDue()).created;
    const queue = new RunQueue(worker.db);
    await queue.claim({ workerId: 'w' });
    await queue.complete(run!, 'w');
    const touched = await worker.db.updateTable('scheduler.runs').set({ error: null }).where('id', '=', run!.id).executeTakeFirst();
    expect(touched.numUpdatedRows).toBe(0n); // finished runs are outside runs_worker_settle
    await expect(
      worker.db
        .insertInto('scheduler.runs')
        .values({ tenant_id: 'acme', schedule_id: s.id, scheduled_for: new Date(0) })
        .returning('status')
        .execute(),
    ).resolves.toEqual([{ status: 'queued' }]);
    await expect(
      worker.db
        .insertInto('scheduler.runs')
        .values({ tenant_id: 'acme', schedule_id: s.id, scheduled_for: new Date(60_000), status: 'running' })
        .execute(),
    ).rejects.toMatchObject({ sqlState: '42501' });
    await expect(worker.db.deleteFrom('scheduler.runs').execute()).rejects.toMatchObject({ sqlState: '42501' });
    await expect(worker.db.updateTable('scheduler.schedules').set({ cron: '@daily' }).execute()).rejects.toMatchObject({
      sqlState: '42501',
    });
    await repo.setEnabled(s.id, false);
    const advanced = await worker.db
      .updateTable('scheduler.schedules')
      .set({ next_fire_at: new Date() })
      .where('id', '=', s.id)
      .executeTakeFirst();
    expect(advanced.numUpdatedRows).toBe(0n);
  });
});
