// SIGTERM mid-burst: in-flight deliveries finish or go back to the queue; nothing is lost or left claimed.
import { expect, it } from 'vitest';
import { deliveryStates, eventually, seedBurst, statusCounts, workerEnv } from './support/notify-db.js';
import { useWorkerTestBed } from './support/test-bed.js';

const { db, startWorker, startReceiver } = await useWorkerTestBed();

it('on SIGTERM stops claiming, finishes what it can, releases what hangs, closes and exits 0; a new worker delivers the rest once', async () => {
  const receiver = await startReceiver();
  // the hanging receiver's deliveries are claimed first (oldest due first)
  const slow = await seedBurst(db, ['slow'], 3, receiver.url);
  const fast = await seedBurst(db, ['acme', 'globex'], 40, receiver.url);
  receiver.responder = (r) => (r.tenant === 'slow' ? { status: 204, delayMs: 60_000 } : { status: 204, delayMs: 100 });
  const w = startWorker(workerEnv(db, { Worker__WorkerId: 'leaving', Worker__BatchSize: '10', Worker__ShutdownTimeoutSeconds: '2' }));
  await w.ready();
  await eventually(async () => receiver.received.length >= 15, 60_000, '15 deliveries');
  w.signal('SIGTERM');
  expect(await w.exited).toBe(0);

  // nothing left claimed, nothing dead; every delivered row reached the receiver, and only those did
  const states = await deliveryStates(db);
  expect(states.filter((s) => s.status !== 'delivered' && s.status !== 'pending')).toEqual([]);
  const delivered = states
    .filter((s) => s.status === 'delivered')
    .map((s) => s.key)
    .sort();
  expect([...receiver.counts().keys()].sort()).toEqual(delivered);
  expect(delivered.length).toBeGreaterThanOrEqual(15);
  expect(delivered.length).toBeLessThan(fast.length);
  // the hanging ones were released: pending, due, attempt not counted
  expect(states.filter((s) => slow.includes(s.key)).map((s) => [s.key, s.status, s.attempts, s.locked_by])).toEqual(
    slow.map((k) => [k, 'pending', 0, null]),
  );
  const messages = w.lines.map((l) => l.msg);
  expect(messages).toContain('stopped claiming; finishing in-flight deliveries');
  expect(messages).toContain('shutdown timeout: aborting in-flight deliveries and releasing them to the queue');
  expect(messages.at(-1)).toBe('notify worker stopped');

  // a fresh worker delivers everything else, each exactly once
  receiver.responder = () => ({ status: 204 });
  const next = startWorker(workerEnv(db, { Worker__WorkerId: 'next' }));
  await next.ready();
  await eventually(async () => (await statusCounts(db)).delivered === slow.length + fast.length, 60_000, 'all delivered');
  expect([...receiver.counts().values()].every((n) => n === 1)).toBe(true);
  expect(receiver.counts().size).toBe(slow.length + fast.length);
});
