// The tenant key check: a worker whose key the database does not accept refuses to start, and readiness says so
// when the key disappears while it runs (otherwise every tenant session sees no rows and deliveries dead-letter).
import { randomBytes } from 'node:crypto';
import { templateMigrations } from '@stellaops/module-testkit';
import { migrations } from '@stellaops/module-notify';
import { installTenantKey, removeTenantKey, TenantKey } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { deliveryStates, enableLogins, eventually, seedBurst, workerEnv } from './support/notify-db.js';
import { WebhookReceiver } from './support/webhook-receiver.js';
import { WorkerProcess } from './support/worker-process.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) }); // the server's test key is installed
const running: WorkerProcess[] = [];

beforeAll(async () => {
  await enableLogins(db.server.adminConnectionString);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.kill()));
});

async function readyz(port: number): Promise<{ status: number; body: { ready: boolean; reasons: string[]; tenantProof?: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; reasons: string[]; tenantProof?: string } };
}

it('refuses to start when its key id is not installed in the database, naming the id and the fix but never the key', async () => {
  const w = WorkerProcess.start(workerEnv(db, { Postgres__TenantKeyId: 'k-not-installed' }));
  running.push(w);
  expect(await w.exited).toBe(1);
  expect(w.stderr).toContain('tenant key "k-not-installed" not accepted by the database');
  expect(w.stderr).toContain('stella-db up');
  expect(w.stderr).toContain('installTenantKey');
  expect(w.stderr).toContain('Postgres__TenantKeyId');
  expect(w.lines.find((l) => l.level === 'fatal')).toMatchObject({
    msg: 'notify worker failed to start',
    err: { name: 'TenantProofRejectedError', code: 'TENANT_PROOF_REJECTED' },
  });
  expect(w.lines.some((l) => l.msg === 'draining the notify delivery queue')).toBe(false);
  expect(w.stdout + w.stderr).not.toContain(db.server.tenantKey.tenantKey);
});

it('refuses to start when the installed key id holds another secret', async () => {
  const wrong = randomBytes(32).toString('base64url');
  const w = WorkerProcess.start(workerEnv(db, { Postgres__TenantKey: wrong }));
  running.push(w);
  expect(await w.exited).toBe(1);
  expect(w.stderr).toContain(`tenant key "${db.server.tenantKey.tenantKeyId}" not accepted by the database`);
  expect(w.stdout + w.stderr).not.toContain(wrong);
  expect(w.stdout + w.stderr).not.toContain(db.server.tenantKey.tenantKey);
});

it('starts with the installed key, and readiness turns false while the key is removed, true again once reinstalled', async () => {
  const { tenantKeyId, tenantKey } = db.server.tenantKey;
  const w = WorkerProcess.start(workerEnv(db, { Worker__ReadinessCacheSeconds: '0' }));
  running.push(w);
  const port = await w.ready();
  expect(w.lines.find((l) => l.msg === 'tenant key accepted by the database')).toMatchObject({ tenantKeyId });
  expect(await readyz(port)).toMatchObject({ status: 200, body: { ready: true, reasons: [], tenantProof: 'verified' } });

  expect(await removeTenantKey(db.pool, tenantKeyId)).toBe(true);
  const removed = await readyz(port);
  expect(removed.status).toBe(503);
  expect(removed.body.tenantProof).toBe('rejected');
  expect(removed.body.reasons).toEqual([expect.stringMatching(new RegExp(`^tenant key "${tenantKeyId}" not accepted by the database`))]);

  await installTenantKey(db.pool, new TenantKey(tenantKeyId, tenantKey));
  expect(await readyz(port)).toMatchObject({ status: 200, body: { ready: true, tenantProof: 'verified' } });
  w.signal('SIGTERM');
  expect(await w.exited).toBe(0);
  expect(w.stdout + w.stderr).not.toContain(tenantKey);
});

it('during a key rotation (new key current, the old one as Postgres__PreviousTenantKey) reads channels still tagged with the old key and delivers', async () => {
  const receiver = await WebhookReceiver.start();
  try {
    // channels and deliveries written under the fixture key: their tenant_tag is the sha256 of the old proof
    const keys = await seedBurst(db, ['acme', 'globex'], 2, receiver.url);
    const next = { tenantKeyId: 'k-rotated', tenantKey: randomBytes(32).toString('base64url') };
    await installTenantKey(db.pool, new TenantKey(next.tenantKeyId, next.tenantKey));
    const w = WorkerProcess.start(
      workerEnv(db, {
        Postgres__TenantKeyId: next.tenantKeyId,
        Postgres__TenantKey: next.tenantKey,
        Postgres__PreviousTenantKeyId: db.server.tenantKey.tenantKeyId,
        Postgres__PreviousTenantKey: db.server.tenantKey.tenantKey,
      }),
    );
    running.push(w);
    await w.ready();
    expect(w.lines.find((l) => l.msg === 'tenant key accepted by the database')).toMatchObject({ tenantKeyId: next.tenantKeyId });
    await eventually(async () => (await deliveryStates(db)).every((d) => d.status !== 'pending' && d.status !== 'processing'), 60_000);
    expect((await deliveryStates(db)).map((d) => [d.key, d.status])).toEqual(keys.sort().map((k) => [k, 'delivered']));
    expect([...receiver.counts().values()]).toEqual(keys.map(() => 1));
    w.signal('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stdout + w.stderr).not.toContain(next.tenantKey);
    expect(w.stdout + w.stderr).not.toContain(db.server.tenantKey.tenantKey);
  } finally {
    await receiver.close();
  }
});
