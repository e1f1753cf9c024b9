// Migrate on start (as a non-superuser owner, bounded lock wait), readiness from the migrator's status, role check.
import { APP_ROLE } from '@stellaops/module-notify';
import { ensureAppRole, installTenantKey, quoteIdentifier, securityMigrations, TenantKey } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { enableLogins, urlAs, workerEnv } from './support/notify-db.js';
import { WorkerProcess } from './support/worker-process.js';

const OWNER = 'stellaops_test_owner';
const OWNER_PASSWORD = 'stellaops-test-owner-pw';
const db = useTestDatabase({ scope: 'file' }); // an empty database: the workers migrate it
const running: WorkerProcess[] = [];

beforeAll(async () => {
  // like stella-db up: an owner that is neither superuser nor CREATEROLE; the module's roles exist beforehand
  await enableLogins(db.server.adminConnectionString);
  await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
  await db.pool.query(`grant create on database ${quoteIdentifier(db.database)} to ${quoteIdentifier(OWNER)}`);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.kill()));
});

function migratingEnv(extra: Record<string, string> = {}): Record<string, string> {
  return workerEnv(db, {
    Worker__MigrateOnStart: 'true',
    Worker__MigrationConnectionString: urlAs(db, OWNER, OWNER_PASSWORD),
    Worker__MigrationLockWaitSeconds: '30',
    Worker__ReadinessCacheSeconds: '0',
    ...extra,
  });
}

async function get(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

it('gives up within the lock wait while another runner holds the migration lock, and exits 1 naming the holder', async () => {
  const holder = await db.pool.connect();
  try {
    await holder.query(`select pg_advisory_lock(1398031692, hashtext('notify._migrations'))`);
    const w = WorkerProcess.start(migratingEnv({ Worker__MigrationLockWaitSeconds: '1' }));
    running.push(w);
    expect(await w.exited).toBe(1);
    expect(w.stderr).toMatch(
      /migrating Notify at start failed: could not take the migration lock of schema "notify" within \d+ ms; held by pid \d+/,
    );
    // the security set (a different lock) went first and was applied
    expect(w.lines.find((l) => l.component === 'migrator' && /^schema stellaops_security /.test(l.msg))?.msg).toBe(
      `schema stellaops_security migrated (${securityMigrations.length} applied)`,
    );
    expect(w.lines.find((l) => l.level === 'fatal')).toMatchObject({
      msg: 'notify worker failed to start',
      err: { code: 'MIGRATION_FAILED' },
    });
    const tables = await db.pool.query(`select 1 from pg_tables where schemaname = 'notify'`);
    expect(tables.rowCount).toBe(0);
  } finally {
    await holder.query(`select pg_advisory_unlock_all()`);
    holder.release();
  }
});

it('two workers starting together migrate Notify once as the owner, then report ready from the migrator status', async () => {
  // the operator's step the worker does not take: install the tenant key (the first test migrated the key table);
  // without it the worker refuses to start (tenant-key.test.ts)
  await installTenantKey(db.pool, new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey));
  const a = WorkerProcess.start(migratingEnv({ Worker__WorkerId: 'a' }));
  const b = WorkerProcess.start(migratingEnv({ Worker__WorkerId: 'b' }));
  running.push(a, b);
  const [portA, portB] = await Promise.all([a.ready(), b.ready()]);
  // postgres-core's security set first (Notify's policies call stellaops_security.current_tenant() and session_tag()), then Notify
  const security = [a, b]
    .map((w) => w.lines.find((l) => l.component === 'migrator' && /^schema stellaops_security /.test(l.msg))?.msg)
    .sort();
  expect(security).toEqual(['schema stellaops_security up to date', 'schema stellaops_security up to date']); // the first test migrated it
  for (const w of [a, b]) {
    const order = w.lines
      .filter((l) => l.component === 'migrator' && /^schema (stellaops_security|notify) (migrated|up to date)/.test(l.msg))
      .map((l) => l.msg.split(' ')[1]);
    expect(order).toEqual(['stellaops_security', 'notify']);
  }
  const outcomes = [a, b].map((w) => w.lines.find((l) => l.component === 'migrator' && /^schema notify /.test(l.msg))?.msg).sort();
  // every migration of the set, applied once in all
  const applied = (await db.pool.query<{ n: number }>('select count(*)::int as n from notify._migrations')).rows[0]!.n;
  expect(applied).toBeGreaterThanOrEqual(6);
  expect(outcomes).toEqual([`schema notify migrated (${applied} applied)`, 'schema notify up to date']);
  const owners = await db.pool.query<{ o: string }>(
    `select distinct tableowner as o from pg_tables where schemaname in ('notify', 'stellaops_security')`,
  );
  expect(owners.rows).toEqual([{ o: OWNER }]);

  expect(await get(portA, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  const ready = await get(portB, '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body).toMatchObject({
    ready: true,
    reasons: [],
    database: { status: 'healthy' },
    migrations: { counts: { applied, pending: 0 }, pending: [] },
  });

  // the newest migration this build knows is no longer recorded: not current, so not ready (and says which)
  await db.pool.query(`delete from notify._migrations where name = 'V006_TenantTagRotation'`);
  const stale = await get(portA, '/readyz');
  expect(stale.status).toBe(503);
  expect(stale.body.reasons).toEqual(['migrations: not current: V006_TenantTagRotation (pending)']);
  for (const w of [a, b]) w.signal('SIGTERM');
  expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  expect(a.stdout + b.stdout).not.toContain(OWNER_PASSWORD);
  expect(a.stdout + a.stderr + b.stdout + b.stderr).not.toContain(db.server.tenantKey.tenantKey);
});

it('refuses to start as the app role, which cannot see any tenant without one (the queue would look empty forever)', async () => {
  const w = WorkerProcess.start(workerEnv(db, { Postgres__ConnectionString: urlAs(db, APP_ROLE) }));
  running.push(w);
  expect(await w.exited).toBe(1);
  expect(w.stderr).toContain('connected as stellaops_app, which is not stellaops_notify_worker');
});
