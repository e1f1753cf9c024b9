import { createHash } from 'node:crypto';
import { rowTenantTagSuite, templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { createDataSource, PoolRegistry, TenantKey, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { APP_ROLE, migrations, RunPlanner, RunRepository, ScheduleRepository, WORKER_ROLE, type DB } from '../src/index.js';

// Every row carries tenant_tag, the sha256 of its tenant's proof, which the read policies compare with the session's (V004).
const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Scheduler', roles: [APP_ROLE, WORKER_ROLE] });
const TEN_MINUTES_AGO = (): Date => new Date(Date.now() - 600_000);

rowTenantTagSuite({
  db,
  roles: sources,
  table: 'scheduler.schedules',
  write: async (ds, tenant) => {
    const schedules = new ScheduleRepository(ds.forTenant(tenant));
    const schedule = await schedules.create({ name: 'nightly', cron: '0 2 * * *' });
    return { schedule, found: await schedules.findById(schedule.id), all: await schedules.list() };
  },
  ownerInsert: (tenant) =>
    `insert into scheduler.schedules (tenant_id, name, cron, next_fire_at) values ('${tenant}', 'owner-inserted', '* * * * *', now())`,
});

rowTenantTagSuite({
  db,
  roles: sources,
  table: 'scheduler.runs',
  // the planner on a tenant-bound app-role Kysely: its runs go through the tenant policy
  write: (ds, tenant) =>
    ds.withTenant(tenant, async (trx) => {
      const schedule = await new ScheduleRepository(trx).create({ name: 'every minute', cron: '* * * * *', from: TEN_MINUTES_AGO() });
      const planned = await new RunPlanner(trx).planDue({ maxCatchUp: 2 });
      return { planned, runs: await new RunRepository(trx).listForSchedule(schedule.id) };
    }),
  ownerInsert: (tenant) =>
    `with s as (insert into scheduler.schedules (tenant_id, name, cron, next_fire_at)
                values ('${tenant}', 'owner-' || gen_random_uuid(), '* * * * *', now()) returning tenant_id, id)
     insert into scheduler.runs (tenant_id, schedule_id, scheduled_for) select tenant_id, id, now() from s`,
});

describe('runs the worker plans (its own insert policy checks no tag)', () => {
  const key = (): TenantKey => new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);
  const tagOf = (tenant: string): Buffer => createHash('sha256').update(key().proofFor(tenant), 'utf8').digest();

  /** Plans acme's due schedule on `planner`'s Kysely; acme must then read every planned run, each tagged for acme. */
  async function planAndRead(planOn: (worker: PostgresDataSource<DB>) => Kysely<DB>, worker: PostgresDataSource<DB>): Promise<void> {
    const app = sources.open();
    const schedule = await new ScheduleRepository(app.forTenant('acme')).create({ name: 'm', cron: '* * * * *', from: TEN_MINUTES_AGO() });
    const { created } = await new RunPlanner(planOn(worker)).planDue({ maxCatchUp: 3 });
    expect(created.map((r) => r.tenant_id)).toEqual(['acme', 'acme', 'acme']);
    const stored = await db.pool.query<{ tagged: boolean }>('select tenant_tag = $1 as tagged from scheduler.runs where schedule_id = $2', [
      tagOf('acme'),
      schedule.id,
    ]);
    expect(stored.rows).toEqual([{ tagged: true }, { tagged: true }, { tagged: true }]);
    const read = await new RunRepository(app.forTenant('acme')).listForSchedule(schedule.id);
    expect(read.map((r) => r.id).sort()).toEqual(created.map((r) => r.id).sort());
    expect(await new RunRepository(app.forTenant('globex')).listForSchedule(schedule.id)).toEqual([]);
  }

  const proofSetting = async (k: Kysely<DB>): Promise<string | null> =>
    (await sql<{ p: string | null }>`select current_setting('app.tenant_proof', true) as p`.execute(k)).rows[0]!.p;

  it('unscoped, on a connection that never had a tenant proof (the default tag is null: the fill trigger)', async () => {
    const worker = sources.open(WORKER_ROLE, 1);
    expect(await proofSetting(worker.db)).toBeNull();
    await planAndRead((w) => w.db, worker);
  });

  it("unscoped, on a connection that served a tenant session before (app.tenant_proof is '' then, its sha256 the default)", async () => {
    const worker = sources.open(WORKER_ROLE, 1);
    await worker.forTenant('globex').selectFrom('scheduler.runs').select('id').execute();
    expect(await proofSetting(worker.db)).toBe('');
    await planAndRead((w) => w.db, worker);
  });

  it("behind a transaction pooler (every transaction sets app.tenant_proof, to '' when unscoped)", async () => {
    const worker = createDataSource<DB>(
      { connectionString: sources.url(WORKER_ROLE), pool: { max: 1 }, poolerMode: 'transaction', ...db.server.tenantKey },
      { module: 'Scheduler', registry: new PoolRegistry() },
    );
    try {
      expect(await proofSetting(worker.db)).toBe('');
      await planAndRead((w) => w.db, worker);
    } finally {
      await worker.close();
    }
  });

  it("bound to another tenant (its read policy shows every tenant's schedules)", async () => {
    await planAndRead((w) => w.forTenant('globex'), sources.open(WORKER_ROLE, 1));
  });
});
