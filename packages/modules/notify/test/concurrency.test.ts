import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { createDataSource, PoolRegistry, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_ROLE, DeliveryQueue, DeliveryRepository, migrations, WORKER_ROLE, type DB, type Delivery } from '../src/index.js';
import { seedDeliveries } from './support/seed.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });
const workers: Array<PostgresDataSource<DB>> = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

const N = 6;

/** N worker processes' worth of data sources: the worker role, one connection each; a blocked lock fails in 5 s instead of hanging. */
function openWorkers(): Array<PostgresDataSource<DB>> {
  for (let i = 0; i < N; i++) {
    workers.push(
      createDataSource<DB>(
        { connectionString: sources.url(WORKER_ROLE), pool: { max: 1 } },
        { module: 'Notify', registry: new PoolRegistry(), configure: (b) => b.setSessionSetting('lock_timeout', '5s') },
      ),
    );
  }
  return workers;
}

/** Resolves when `n` parties have arrived. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    arrived += 1;
    if (arrived === n) open();
    await opened;
  };
}

async function seedThreeTenants(perTenant: number): Promise<string[]> {
  const app = sources.open(APP_ROLE);
  const ids: string[] = [];
  for (const tenant of ['acme', 'globex', 'initech']) {
    ids.push(...(await app.withTenant(tenant, async (trx) => (await seedDeliveries(trx, perTenant, { prefix: tenant })).ids)));
  }
  return ids;
}

describe('N concurrent workers on separate connections', () => {
  it('skip rows locked by open claims: N overlapping claim transactions get disjoint deliveries', async () => {
    const all = await seedThreeTenants(20);
    const pool = openWorkers();
    const pids = new Set<number>();
    const allClaimed = barrier(N);
    const limit = 5;
    const claims = await Promise.all(
      pool.map((ds, i) =>
        ds.db.transaction().execute(async (trx) => {
          let claimed: Delivery[];
          try {
            claimed = await new DeliveryQueue(trx).claimDue({ workerId: `w${i}`, limit });
          } catch (error) {
            void allClaimed(); // let the others finish, then fail
            throw error;
          }
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          pids.add(rows[0]!.pid);
          // every claim transaction stays open until all N have claimed: without SKIP LOCKED the later
          // ones would block on the earlier ones' row locks (and fail after lock_timeout)
          await allClaimed();
          return claimed;
        }),
      ),
    );
    expect(pids.size).toBe(N);
    const ids = claims.flat().map((d) => d.id);
    expect(ids).toHaveLength(N * limit);
    expect(new Set(ids).size).toBe(N * limit);
    for (const id of ids) expect(all).toContain(id);
    claims.forEach((c, i) => c.forEach((d) => expect(d.locked_by).toBe(`w${i}`)));
  });

  it('claim each delivery exactly once while draining the queue of several tenants', async () => {
    const all = await seedThreeTenants(50);
    const pool = openWorkers();
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      pool.map(async (ds, i) => {
        const queue = new DeliveryQueue(ds.db);
        const workerId = `w${i}`;
        for (;;) {
          const batch: Delivery[] = await queue.claimDue({ workerId, limit: 4, leaseSeconds: 300 });
          if (batch.length === 0) return;
          for (const d of batch) {
            claimedBy.set(d.id, [...(claimedBy.get(d.id) ?? []), workerId]);
            expect(await queue.complete(d, workerId)).toBeDefined();
          }
        }
      }),
    );
    expect([...claimedBy.keys()].sort()).toEqual([...all].sort());
    for (const [id, by] of claimedBy) expect(by, id).toHaveLength(1);
    const r = await db.pool.query<{ status: string; attempts: number; n: number }>(
      `select status, attempts, count(*)::int as n from notify.deliveries group by 1, 2`,
    );
    expect(r.rows).toEqual([{ status: 'delivered', attempts: 1, n: all.length }]);
  });

  it('enqueue the same idempotency key concurrently: one delivery, one "created"', async () => {
    const app = sources.open(APP_ROLE);
    const { channelId } = await seedDeliveries(app.forTenant('acme'), 0);
    const apps = Array.from({ length: N }, () => sources.open(APP_ROLE, 1));
    const results = await Promise.all(
      apps.map((ds, i) =>
        new DeliveryRepository(ds.forTenant('acme')).enqueue({ channelId, idempotencyKey: 'scan:42', payload: { from: i } }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.delivery.id)).size).toBe(1);
    const first = results.find((r) => r.created)!;
    for (const r of results) expect(r.delivery.payload).toEqual(first.delivery.payload);
    const count = await db.pool.query<{ n: number }>(`select count(*)::int as n from notify.deliveries`);
    expect(count.rows[0]?.n).toBe(1);
  });
});
