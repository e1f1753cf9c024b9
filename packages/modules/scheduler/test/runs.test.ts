import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { CheckViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase, type TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  APP_ROLE,
  migrations,
  RunPlanner,
  RunQueue,
  RunRepository,
  ScheduleRepository,
  WORKER_ROLE,
  type DB,
  type Run,
} from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Scheduler', roles: [APP_ROLE, WORKER_ROLE] });
let app: PostgresDataSource<DB>;
let worker: PostgresDataSource<DB>;
// ticks in the past, so that claims (which compare with the database's now()) find them due
const T0 = new Date(Date.now() - 3 * 3600_000);
T0.setUTCMinutes(0, 0, 0);
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

/** Moves the leases of running runs into the past (the clock moves instead of the test waiting), as the superuser. */
async function expireLeases(db: TestDatabaseHandle): Promise<void> {
  await db.pool.query(`update scheduler.runs set lease_expires_at = now() - interval '1 millisecond' where status = 'running'`);
}

beforeEach(() => {
  app = sources.open();
  worker = sources.open(WORKER_ROLE);
});

async function schedule(tenant: string, name: string, cron = '*/5 * * * *') {
  return new ScheduleRepository(app.forTenant(tenant)).create({ name, cron, from: new Date(T0.getTime() - 1) });
}

describe('RunPlanner', () => {
  it('plans each due tick once, advances next_fire_at, skips disabled schedules and catches up on the newest ticks only', async () => {
    const a = await schedule('acme', 'every5');
    const off = await schedule('acme', 'off');
    await new ScheduleRepository(app.forTenant('acme')).setEnabled(off.id, false);
    const g = await schedule('globex', 'hourly', '0 * * * *');
    const planner = new RunPlanner(worker.db);

    const first = await planner.planDue({ now: at(12) });
    expect(first.schedules).toBe(2);
    expect(first.created.map((r) => [r.tenant_id, r.scheduled_for.getTime() - T0.getTime()])).toEqual([
      ['acme', 0],
      ['acme', 5 * 60_000],
      ['acme', 10 * 60_000],
      ['globex', 0],
    ]);
    expect(first.created.every((r) => r.status === 'queued' && r.attempts === 0)).toBe(true);
    expect((await new ScheduleRepository(app.forTenant('acme')).findById(a.id))?.next_fire_at).toEqual(at(15));
    expect((await new ScheduleRepository(app.forTenant('globex')).findById(g.id))?.next_fire_at).toEqual(at(60));

    // nothing new until the next tick; the same clock again plans nothing
    expect((await planner.planDue({ now: at(14) })).created).toEqual([]);
    // a planner that still sees the old next_fire_at (reset by hand) inserts nothing twice
    await db.pool.query('update scheduler.schedules set next_fire_at = $1 where id = $2', [T0, a.id]);
    expect((await planner.planDue({ now: at(12) })).created).toEqual([]);
    // after a long outage only maxCatchUp newest ticks are planned
    const late = await planner.planDue({ now: at(100), maxCatchUp: 3 });
    expect(late.created.filter((r) => r.schedule_id === a.id).map((r) => (r.scheduled_for.getTime() - T0.getTime()) / 60_000)).toEqual([
      90, 95, 100,
    ]);
    const runs = await new RunRepository(app.forTenant('acme')).listForSchedule(a.id);
    expect(runs.map((r) => (r.scheduled_for.getTime() - T0.getTime()) / 60_000)).toEqual([100, 95, 90, 10, 5, 0]);
    expect(await new RunRepository(app.forTenant('acme')).listForSchedule(off.id)).toEqual([]);
  });

  it('works per tenant on the app role too (RLS limits it to that tenant)', async () => {
    await schedule('acme', 'a');
    await schedule('globex', 'g');
    const created = await new RunPlanner(app.forTenant('acme')).planDue({ now: at(0) });
    expect(created.created.map((r) => r.tenant_id)).toEqual(['acme']);
  });
});

describe('RunQueue', () => {
  async function plannedRuns(n: number): Promise<Run[]> {
    await schedule('acme', 'every5');
    return (await new RunPlanner(worker.db).planDue({ now: at(5 * (n - 1)) })).created;
  }

  it('claims due runs oldest first with a lease, never a run twice, and only the holder settles them', async () => {
    const planned = await plannedRuns(3);
    const queue = new RunQueue(worker.db);
    const [one, ...none] = await queue.claim({ workerId: 'w1', limit: 1, leaseSeconds: 30 });
    expect(none).toEqual([]);
    expect(one).toMatchObject({ id: planned[0]!.id, status: 'running', locked_by: 'w1', attempts: 1 });
    expect(one!.lease_expires_at!.getTime() - one!.started_at!.getTime()).toBeGreaterThanOrEqual(29_000);
    const rest = await queue.claim({ workerId: 'w2', limit: 10 });
    expect(rest.map((r) => r.id)).toEqual([planned[1]!.id, planned[2]!.id]);
    expect(await queue.claim({ workerId: 'w3' })).toEqual([]);
    await expect(queue.claim({ workerId: 'w3', leaseSeconds: 0 })).rejects.toThrow(/leaseSeconds must be more than 0/);
    await expect(queue.claim({ workerId: '' })).rejects.toThrow(/workerId must be 1-200 characters/);

    expect(await queue.complete(one!, 'w2')).toBeUndefined(); // not the holder
    expect(await queue.heartbeat(one!, 'w1', 120)).toMatchObject({ status: 'running', locked_by: 'w1' });
    expect(await queue.complete(one!, 'w1')).toMatchObject({ status: 'succeeded', locked_by: null, lease_expires_at: null, error: null });
    expect(await queue.complete(one!, 'w1')).toBeUndefined(); // finished already
    expect(await queue.fail(rest[0]!, 'w2', 'exit 3')).toMatchObject({ status: 'failed', error: 'exit 3' });
    const cancelled = await new RunRepository(app.forTenant('acme')).cancel(rest[1]!.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', locked_by: null });
    expect(await queue.complete(rest[1]!, 'w2')).toBeUndefined(); // its claim is gone
    expect(await new RunRepository(app.forTenant('acme')).cancel(one!.id)).toBeUndefined(); // finished runs are not cancelled
  });

  it('takes over a run whose lease expired; the old holder can no longer settle it', async () => {
    await plannedRuns(1);
    const queue = new RunQueue(worker.db);
    const [run] = await queue.claim({ workerId: 'dead', leaseSeconds: 60 });
    expect(await queue.claim({ workerId: 'alive' })).toEqual([]); // lease still held
    await expireLeases(db);
    const [taken] = await queue.claim({ workerId: 'alive' });
    expect(taken).toMatchObject({ id: run!.id, status: 'running', locked_by: 'alive', attempts: 2, started_at: run!.started_at });
    expect(await queue.complete(run!, 'dead')).toBeUndefined();
    expect(await queue.complete(run!, 'alive')).toMatchObject({ status: 'succeeded' });
  });

  it('does not claim runs whose tick is still ahead', async () => {
    const s = await new ScheduleRepository(app.forTenant('acme')).create({ name: 'future', cron: '@daily' });
    await worker.db
      .insertInto('scheduler.runs')
      .values({ tenant_id: 'acme', schedule_id: s.id, scheduled_for: new Date(Date.now() + 3600_000) })
      .execute();
    expect(await new RunQueue(worker.db).claim({ workerId: 'w' })).toEqual([]);
  });
});

describe('the run state machine, enforced by the database', () => {
  it('refuses every transition but queued -> running -> succeeded | failed | cancelled, and any change to a finished run', async () => {
    const s = await schedule('acme', 'sm');
    const t = app.forTenant('acme');
    const insert = async (minute: number) =>
      t
        .insertInto('scheduler.runs')
        .values({ schedule_id: s.id, scheduled_for: at(minute) })
        .returningAll()
        .executeTakeFirstOrThrow();
    const set = (id: string, changes: Record<string, unknown>) =>
      t.updateTable('scheduler.runs').set(changes).where('id', '=', id).execute();
    const transition = (from: string, to: string) => new RegExp(`may not go from ${from} to ${to}`);

    const q = await insert(0);
    await expect(set(q.id, { status: 'succeeded', finished_at: new Date() })).rejects.toThrow(transition('queued', 'succeeded'));
    const err = await set(q.id, { status: 'failed', finished_at: new Date(), error: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckViolationError);
    expect(err).toMatchObject({ constraint: 'runs_status_transition' });
    await set(q.id, { status: 'running', locked_by: 'w', lease_expires_at: new Date(Date.now() + 60_000), started_at: new Date() });
    await expect(set(q.id, { status: 'queued', locked_by: null, lease_expires_at: null })).rejects.toThrow(transition('running', 'queued'));
    await set(q.id, { status: 'succeeded', locked_by: null, lease_expires_at: null, finished_at: new Date() });
    for (const to of ['queued', 'running', 'failed', 'cancelled']) {
      await expect(set(q.id, { status: to }), to).rejects.toThrow(transition('succeeded', to));
    }
    await expect(set(q.id, { error: 'rewritten' })).rejects.toThrow(transition('succeeded', 'succeeded'));

    const c = await insert(5);
    await set(c.id, { status: 'cancelled', finished_at: new Date() });
    await expect(
      set(c.id, { status: 'running', locked_by: 'w', lease_expires_at: new Date(), started_at: new Date(), finished_at: null }),
    ).rejects.toThrow(transition('cancelled', 'running'));
    // a run keeps its schedule and tick
    const r = await insert(10);
    await expect(set(r.id, { scheduled_for: at(11) })).rejects.toThrow(/may not change its tenant, schedule or tick/);
    // the columns must match the state
    await expect(set(r.id, { status: 'running' })).rejects.toMatchObject({ constraint: 'runs_running_has_lease' });
    await expect(
      t
        .insertInto('scheduler.runs')
        .values({ schedule_id: s.id, scheduled_for: at(20), status: 'succeeded' })
        .execute(),
    ).rejects.toMatchObject({
      constraint: 'runs_finished_at',
    });
    // one run per tick
    await expect(insert(10)).rejects.toMatchObject({ constraint: 'runs_one_per_tick' });
  });
});
