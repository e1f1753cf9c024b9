// Test database helpers: Notify's roles with LOGIN, seeding as the app role, reading outcomes as the superuser.
import { ChannelRepository, DeliveryRepository, APP_ROLE, WORKER_ROLE, type DB } from '@stellaops/module-notify';
import { enableRoleLogins, roleConnectionString, TEST_ROLE_PASSWORD } from '@stellaops/module-testkit';
import { createDataSource, PoolRegistry } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';

/** Test-only password of Notify's roles: module-testkit's, the same every package's tests use (roles are cluster-global). */
export const TEST_PASSWORD = TEST_ROLE_PASSWORD;

/** Gives the app and worker roles LOGIN and the test password (idempotent). */
export function enableLogins(adminConnectionString: string): Promise<void> {
  return enableRoleLogins(adminConnectionString, [APP_ROLE, WORKER_ROLE]);
}

/** URL of the test database as `role`. */
export const urlAs = roleConnectionString;

/**
 * As the app role: a webhook channel to `url` per tenant and `perTenant` deliveries each
 * (idempotency keys `<tenant>-<i>`). Returns every key.
 */
export async function seedBurst(
  db: TestDatabaseHandle,
  tenants: string[],
  perTenant: number,
  url: string,
  maxAttempts = 5,
): Promise<string[]> {
  const ds = createDataSource<DB>(
    { connectionString: urlAs(db, APP_ROLE), pool: { max: 4 }, ...db.server.tenantKey },
    { module: 'Notify', registry: new PoolRegistry() },
  );
  const keys: string[] = [];
  try {
    for (const tenant of tenants) {
      await ds.withTenant(tenant, async (trx) => {
        const channel = await new ChannelRepository(trx).create({ name: `hook-${tenant}`, kind: 'webhook', config: { url } });
        const deliveries = new DeliveryRepository(trx);
        for (let i = 0; i < perTenant; i++) {
          const key = `${tenant}-${i}`;
          await deliveries.enqueue({ channelId: channel.id, idempotencyKey: key, payload: { tenant, i }, maxAttempts });
          keys.push(`${tenant}:${key}`);
        }
      });
    }
  } finally {
    await ds.close();
  }
  return keys;
}

/** Every delivery's state, as the superuser (RLS does not apply to it). */
export async function deliveryStates(
  db: TestDatabaseHandle,
): Promise<Array<{ key: string; status: string; attempts: number; locked_by: string | null; last_error: string | null }>> {
  const r = await db.pool.query<{ key: string; status: string; attempts: number; locked_by: string | null; last_error: string | null }>(
    `select tenant_id || ':' || idempotency_key as key, status, attempts, locked_by, last_error from notify.deliveries order by 1`,
  );
  return r.rows;
}

/** Counts by status. */
export async function statusCounts(db: TestDatabaseHandle): Promise<Record<string, number>> {
  const r = await db.pool.query<{ status: string; n: number }>(`select status, count(*)::int as n from notify.deliveries group by status`);
  return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
}

/** Polls `fn` until it returns true (every 200 ms, up to `timeoutMs`). */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 90_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The environment of a worker connecting directly as the worker role, with the
 * server's test tenant key (installed in every fixture template by `templateMigrations`).
 */
export function workerEnv(db: TestDatabaseHandle, extra: Record<string, string> = {}): Record<string, string> {
  return {
    Persistence__Notify: 'Postgres',
    Postgres__ConnectionString: urlAs(db, WORKER_ROLE),
    Postgres__TenantKey: db.server.tenantKey.tenantKey,
    Postgres__TenantKeyId: db.server.tenantKey.tenantKeyId,
    Postgres__Pool__Max: '4',
    Worker__HttpPort: '0',
    Worker__PollIntervalMs: '100',
    Worker__LeaseSeconds: '30',
    Worker__DeliveryTimeoutSeconds: '5',
    Worker__LogLevel: 'info',
    ...extra,
  };
}
