import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import type { PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase, type TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { APP_ROLE, DeliveryQueue, DeliveryRepository, migrations, WORKER_ROLE, type DB } from '../src/index.js';
import { seedDeliveries } from './support/seed.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });
let app: PostgresDataSource<DB>;
let worker: PostgresDataSource<DB>;

/** Makes deliveries due now (moves the clock instead of waiting), as the superuser. */
async function makeDue(db: TestDatabaseHandle, ids?: string[]): Promise<void> {
  await db.pool.query(
    `update notify.deliveries set next_attempt_at = now() - interval '1 millisecond'
      where status in ('pending', 'processing') and ($1::uuid[] is null or id = any($1::uuid[]))`,
    [ids ?? null],
  );
}

beforeEach(() => {
  app = sources.open(APP_ROLE);
  worker = sources.open(WORKER_ROLE);
});

/** Seconds between two timestamps of the same row (both set by one statement's now()). */
function seconds(later: Date | null, earlier: Date): number {
  return (later!.getTime() - earlier.getTime()) / 1000;
}

describe('claiming', () => {
  it('claims due deliveries oldest first, up to the limit, leasing them and counting the attempt', async () => {
    const { ids } = await seedDeliveries(app.forTenant('acme'), 3);
    const queue = new DeliveryQueue(worker.db);
    const first = await queue.claimDue({ workerId: 'w1', limit: 2, leaseSeconds: 30 });
    expect(first.map((d) => d.id)).toEqual(ids.slice(0, 2));
    for (const d of first) {
      expect(d).toMatchObject({ status: 'processing', attempts: 1, locked_by: 'w1', tenant_id: 'acme' });
      expect(seconds(d.next_attempt_at, d.updated_at)).toBe(30);
    }
    const second = await queue.claimDue({ workerId: 'w2', limit: 5 });
    expect(second.map((d) => d.id)).toEqual([ids[2]]);
    // leased rows are not due: nothing left
    expect(await queue.claimDue({ workerId: 'w3' })).toEqual([]);
  });

  it('does not claim deliveries scheduled for later', async () => {
    const t = app.forTenant('acme');
    const { channelId } = await seedDeliveries(t, 0);
    await new DeliveryRepository(t).enqueue({ channelId, idempotencyKey: 'later', payload: {}, delaySeconds: 300 });
    const queue = new DeliveryQueue(worker.db);
    expect(await queue.claimDue({ workerId: 'w1' })).toEqual([]);
    await makeDue(db);
    expect((await queue.claimDue({ workerId: 'w1' })).map((d) => d.idempotency_key)).toEqual(['later']);
  });

  it('lets the app role claim within its tenant session only; unscoped it claims nothing', async () => {
    const acme = await seedDeliveries(app.forTenant('acme'), 2, { prefix: 'a' });
    await seedDeliveries(app.forTenant('globex'), 2, { prefix: 'g' });
    expect(await new DeliveryQueue(app.db).claimDue({ workerId: 'app' })).toEqual([]);
    const claimed = await new DeliveryQueue(app.forTenant('acme')).claimDue({ workerId: 'app', limit: 10 });
    expect(claimed.map((d) => d.id).sort()).toEqual([...acme.ids].sort());
    // the worker role sees across tenants: only globex's are left
    const rest = await new DeliveryQueue(worker.db).claimDue({ workerId: 'w', limit: 10 });
    expect(rest.map((d) => d.tenant_id)).toEqual(['globex', 'globex']);
  });
});

describe('settling', () => {
  it('completes a claimed delivery once, only by the worker holding the claim', async () => {
    await seedDeliveries(app.forTenant('acme'), 1);
    const queue = new DeliveryQueue(worker.db);
    const [d] = await queue.claimDue({ workerId: 'w1' });
    expect(await queue.complete(d!, 'w2')).toBeUndefined();
    const done = await queue.complete(d!, 'w1');
    expect(done).toMatchObject({ status: 'delivered', locked_by: null, next_attempt_at: null, attempts: 1 });
    expect(done?.delivered_at).toBeInstanceOf(Date);
    expect(await queue.complete(d!, 'w1')).toBeUndefined();
    await makeDue(db);
    expect(await queue.claimDue({ workerId: 'w1' })).toEqual([]);
  });

  it('retries with exponential backoff and dead-letters after max attempts', async () => {
    const t = app.forTenant('acme');
    await seedDeliveries(t, 1, { maxAttempts: 4 });
    const queue = new DeliveryQueue(worker.db);
    const backoff = { baseSeconds: 10, maxSeconds: 25 };
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [d] = await queue.claimDue({ workerId: 'w' });
      expect(d?.attempts).toBe(attempt);
      const failed = await queue.fail(d!, { workerId: 'w', error: `boom ${attempt}`, backoff });
      expect(failed).toMatchObject({ status: 'pending', attempts: attempt, locked_by: null, last_error: `boom ${attempt}` });
      delays.push(seconds(failed!.next_attempt_at, failed!.updated_at));
      // not due before its backoff has passed
      expect(await queue.claimDue({ workerId: 'w' })).toEqual([]);
      await makeDue(db);
    }
    expect(delays).toEqual([10, 20, 25]);
    const [last] = await queue.claimDue({ workerId: 'w' });
    expect(last?.attempts).toBe(4);
    const dead = await queue.fail(last!, { workerId: 'w', error: 'boom 4', backoff });
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, next_attempt_at: null, locked_by: null, last_error: 'boom 4' });
    await makeDue(db);
    expect(await queue.claimDue({ workerId: 'w' })).toEqual([]);

    const deliveries = new DeliveryRepository(t);
    expect((await deliveries.listDeadLetters()).map((d) => d.id)).toEqual([dead!.id]);
    const redriven = await deliveries.redrive(dead!.id);
    expect(redriven).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await deliveries.redrive(dead!.id)).toBeUndefined();
    expect((await queue.claimDue({ workerId: 'w' })).map((d) => d.id)).toEqual([dead!.id]);
  });

  it('dead-letters at once on a permanent failure and keeps errors bounded', async () => {
    await seedDeliveries(app.forTenant('acme'), 1);
    const queue = new DeliveryQueue(worker.db);
    const [d] = await queue.claimDue({ workerId: 'w' });
    const dead = await queue.fail(d!, { workerId: 'w', error: 'x'.repeat(5000), permanent: true });
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    expect(dead?.last_error).toHaveLength(2000);
  });

  it('re-claims a delivery whose lease expired; the first worker then finds nothing to settle', async () => {
    await seedDeliveries(app.forTenant('acme'), 1, { maxAttempts: 2 });
    const queue = new DeliveryQueue(worker.db);
    const [a] = await queue.claimDue({ workerId: 'crashed', leaseSeconds: 30 });
    await makeDue(db); // the lease runs out
    const [b] = await queue.claimDue({ workerId: 'rescuer' });
    expect(b).toMatchObject({ id: a!.id, attempts: 2, locked_by: 'rescuer' });
    expect(await queue.complete(a!, 'crashed')).toBeUndefined();
    expect(await queue.fail(a!, { workerId: 'crashed', error: 'late' })).toBeUndefined();
    // the rescuer dies too, on the last attempt: never claimed again, dead-lettered by the sweep
    await makeDue(db);
    expect(await queue.claimDue({ workerId: 'w' })).toEqual([]);
    expect(await queue.deadLetterAbandoned()).toBe(1);
    expect(await new DeliveryRepository(app.forTenant('acme')).findById(a!.id)).toMatchObject({
      status: 'dead',
      attempts: 2,
      last_error: 'lease expired on the last attempt',
    });
    expect(await queue.deadLetterAbandoned()).toBe(0);
  });
});

describe('releasing and depth', () => {
  it('releases a claimed delivery back to the queue, due now, without counting the attempt; only the claim holder can', async () => {
    await seedDeliveries(app.forTenant('acme'), 1);
    const queue = new DeliveryQueue(worker.db);
    const [d] = await queue.claimDue({ workerId: 'w1', leaseSeconds: 300 });
    expect(await queue.release(d!, 'w2')).toBeUndefined();
    const released = await queue.release(d!, 'w1');
    expect(released).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
    expect(await queue.release(d!, 'w1')).toBeUndefined();
    // due again at once, for anyone
    expect((await queue.claimDue({ workerId: 'w2' })).map((x) => [x.id, x.attempts])).toEqual([[d!.id, 1]]);
  });

  it('counts pending, processing, due and dead across tenants for the worker, one tenant for the app role', async () => {
    const t = app.forTenant('acme');
    const { channelId } = await seedDeliveries(t, 3, { prefix: 'a' });
    await new DeliveryRepository(t).enqueue({ channelId, idempotencyKey: 'later', payload: {}, delaySeconds: 300 });
    await seedDeliveries(app.forTenant('globex'), 2, { prefix: 'g' });
    const queue = new DeliveryQueue(worker.db);
    const [claimed, toKill] = await queue.claimDue({ workerId: 'w', limit: 2 });
    await queue.fail(toKill!, { workerId: 'w', error: 'gone', permanent: true });
    expect(claimed).toBeDefined();
    // 6 enqueued: 1 processing, 1 dead, 4 pending of which 3 due (one is scheduled later)
    expect(await queue.depth()).toEqual({ pending: 4, processing: 1, due: 3, dead: 1 });
    const globexOnly = await new DeliveryQueue(app.forTenant('globex')).depth();
    expect(globexOnly.pending + globexOnly.processing + globexOnly.dead).toBe(2);
    expect(await new DeliveryQueue(app.db).depth()).toEqual({ pending: 0, processing: 0, due: 0, dead: 0 });
  });
});
