import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import type { PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { APP_ROLE, migrations, RunPlanner, RunQueue, ScheduleRepository, WORKER_ROLE, type DB } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Scheduler', roles: [APP_ROLE, WORKER_ROLE] });
const SCHEDULERS = 6;
const TENANTS = ['acme', 'globex', 'initech'];
const PER_TENANT = 5;
const MINUTES = 6;
const T0 = new Date(Date.now() - 3 * 3600_000);
T0.setUTCMinutes(0, 0, 0);
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

async function seedSchedules(): Promise<void> {
  const app = sources.open();
  for (const tenant of TENANTS) {
    const repo = new ScheduleRepository(app.forTenant(tenant));
    for (let i = 0; i < PER_TENANT; i++)
      await repo.create({ name: `every-minute-${i}`, cron: '* * * * *', from: new Date(T0.getTime() - 1) });
  }
}

/** Six schedulers, each with its own data source (pool, connections, backend) as the worker role. */
async function schedulers(): Promise<Array<PostgresDataSource<DB>>> {
  const all = Array.from({ length: SCHEDULERS }, () => sources.open(WORKER_ROLE, 2));
  const pids = await Promise.all(
    all.map(async (ds) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(ds.db)).rows[0]!.pid),
  );
  expect(new Set(pids).size).toBe(SCHEDULERS);
  return all;
}

describe('several schedulers on the same ticks', () => {
  it('create exactly one run per schedule tick, whoever wins each race', async () => {
    await seedSchedules();
    const planners = (await schedulers()).map((ds) => new RunPlanner(ds.db));
    let created = 0;
    for (let minute = 0; minute < MINUTES; minute++) {
      // every scheduler plans the same minute at once; half of them also replan the previous one (a slow clock)
      const results = await Promise.all(
        planners.flatMap((p, i) => [p.planDue({ now: at(minute) }), ...(i % 2 ? [p.planDue({ now: at(minute - 1) })] : [])]),
      );
      created += results.reduce((n, r) => n + r.created.length, 0);
    }
    const expected = TENANTS.length * PER_TENANT * MINUTES;
    const counts = await db.pool.query<{ ticks: number; runs: number; schedules: number }>(
      `select count(distinct (schedule_id, scheduled_for))::int as ticks, count(*)::int as runs, count(distinct schedule_id)::int as schedules from scheduler.runs`,
    );
    expect(counts.rows[0]).toEqual({ ticks: expected, runs: expected, schedules: TENANTS.length * PER_TENANT });
    expect(created).toBe(expected); // every run was reported by exactly one scheduler

    // schedulers that all still see every schedule's first tick as next (as if none had advanced it) create nothing more
    await db.pool.query('update scheduler.schedules set next_fire_at = $1', [T0]);
    const replay = await Promise.all(planners.map((p) => p.planDue({ now: at(MINUTES - 1), maxCatchUp: MINUTES })));
    expect(replay.reduce((n, r) => n + r.created.length, 0)).toBe(0);
    expect((await db.pool.query<{ n: number }>('select count(*)::int as n from scheduler.runs')).rows[0]?.n).toBe(expected);
  });

  it('create exactly one run per tick when they are separate OS processes', async () => {
    await seedSchedules();
    const url = sources.url(WORKER_ROLE);
    const script = fileURLToPath(new URL('./support/plan-process.ts', import.meta.url));
    const startAt = Date.now() + 6000; // every process waits for this instant, then they race
    const processes = Array.from(
      { length: 4 },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--conditions=@stellaops/source', '--import', 'tsx', script, url, String(T0.getTime()), String(MINUTES), String(startAt)],
            {
              cwd: fileURLToPath(new URL('..', import.meta.url)),
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('error', reject);
          child.on('close', (code) =>
            code === 0 ? resolve((JSON.parse(out.trim().split('\n').at(-1)!) as { created: number }).created) : reject(new Error(out)),
          );
        }),
    );
    const created = await Promise.all(processes);
    const expected = TENANTS.length * PER_TENANT * MINUTES;
    expect(created.reduce((a, b) => a + b, 0)).toBe(expected);
    const counts = await db.pool.query<{ ticks: number; runs: number }>(
      'select count(distinct (schedule_id, scheduled_for))::int as ticks, count(*)::int as runs from scheduler.runs',
    );
    expect(counts.rows[0]).toEqual({ ticks: expected, runs: expected });
  });

  it('claim every run exactly once across six workers draining the queue at the same time', async () => {
    await seedSchedules();
    const sourcesOfWorkers = await schedulers();
    await new RunPlanner(sourcesOfWorkers[0]!.db).planDue({ now: at(MINUTES - 1), maxCatchUp: MINUTES });
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      sourcesOfWorkers.map(async (ds, i) => {
        const queue = new RunQueue(ds.db);
        const workerId = `w${i}`;
        for (;;) {
          const batch = await queue.claim({ workerId, limit: 4, leaseSeconds: 60 });
          if (batch.length === 0) return;
          for (const run of batch) {
            claimedBy.set(run.id, [...(claimedBy.get(run.id) ?? []), workerId]);
            expect(await queue.complete(run, workerId)).toMatchObject({ status: 'succeeded' });
          }
        }
      }),
    );
    const expected = TENANTS.length * PER_TENANT * MINUTES;
    expect(claimedBy.size).toBe(expected);
    expect([...claimedBy.values()].filter((w) => w.length !== 1)).toEqual([]);
    expect(new Set([...claimedBy.values()].flat()).size).toBeGreaterThan(1); // the work was shared
    const states = await db.pool.query<{ status: string; n: number; attempts: number }>(
      'select status, count(*)::int as n, max(attempts)::int as attempts from scheduler.runs group by status',
    );
    expect(states.rows).toEqual([{ status: 'succeeded', n: expected, attempts: 1 }]);
  });
});
