// Three real worker processes drain a burst of deliveries of several tenants: each exactly once.
import { expect, it } from 'vitest';
import { deliveryStates, eventually, seedBurst, statusCounts, workerEnv } from './support/notify-db.js';
import { useWorkerTestBed } from './support/test-bed.js';

const { db, startWorker, startReceiver } = await useWorkerTestBed();

it('delivers a burst for 4 tenants exactly once with 3 worker processes, retrying 5xx and dead-lettering 4xx', async () => {
  const receiver = await startReceiver();
  const tenants = ['acme', 'globex', 'initech', 'umbrella'];
  const keys = await seedBurst(db, tenants, 60, receiver.url);
  // every 7th key fails once with 503 (retried after the 1 s backoff); umbrella-13 is rejected for good (400)
  const failedOnce = new Set<string>();
  receiver.responder = (r) => {
    if (r.idempotencyKey === 'umbrella:umbrella-13') return { status: 400 };
    const n = Number(r.idempotencyKey.split('-').pop());
    if (n % 7 === 0 && !failedOnce.has(r.idempotencyKey)) {
      failedOnce.add(r.idempotencyKey);
      return { status: 503 };
    }
    return { status: 204, delayMs: 5 };
  };
  const workers = [1, 2, 3].map((i) =>
    startWorker(workerEnv(db, { Worker__WorkerId: `w${i}`, Worker__BatchSize: '8', Worker__Backoff__BaseSeconds: '1' })),
  );
  await Promise.all(workers.map((w) => w.ready()));

  await eventually(
    async () => {
      const c = await statusCounts(db);
      return (c.delivered ?? 0) + (c.dead ?? 0) === keys.length;
    },
    120_000,
    'every delivery settled',
  );

  const states = await deliveryStates(db);
  expect(states.filter((s) => s.status === 'dead').map((s) => [s.key, s.last_error])).toEqual([
    ['umbrella:umbrella-13', expect.stringMatching(/^HTTP 400 from 127\.0\.0\.1:\d+$/)],
  ]);
  const counts = receiver.counts();
  // exactly once: every delivered key was received once, nothing else was received
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...counts.keys()].sort()).toEqual(keys.filter((k) => k !== 'umbrella:umbrella-13').sort());
  // the ones that got a 503 first took two attempts, the rest one
  for (const s of states.filter((x) => x.status === 'delivered')) expect(s.attempts, s.key).toBe(failedOnce.has(s.key) ? 2 : 1);
  // the work was shared: each process delivered some
  const perWorker = await Promise.all(
    workers.map(async (w) => {
      const res = await fetch(
        `http://127.0.0.1:${(await w.waitFor((l) => l.msg.startsWith('operations endpoints listening'))).port as number}/metrics`,
      );
      const text = await res.text();
      return Number(/^stellaops_notify_deliveries_total\{outcome="delivered"\} (\d+)$/m.exec(text)?.[1] ?? 'NaN');
    }),
  );
  expect(perWorker.reduce((a, b) => a + b, 0)).toBe(keys.length - 1);
  for (const n of perWorker) expect(n).toBeGreaterThan(0);
  // and every worker stops cleanly
  for (const w of workers) w.signal('SIGTERM');
  expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
  // no log line carries the password or the tenant key (only the key's id, at start)
  for (const w of workers) {
    expect(w.stdout).not.toContain('stellaops-app-test-pw');
    expect(w.stdout + w.stderr).not.toContain(db.server.tenantKey.tenantKey);
    expect(w.lines.find((l) => l.msg === 'notify worker starting')).toMatchObject({
      config: { tenantKeyId: db.server.tenantKey.tenantKeyId },
    });
  }
});
