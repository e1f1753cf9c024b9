// Connects the tests as the app role and as the worker role: plain, non-owner roles that RLS applies to.
import { createDataSource, ensureAppRole, PoolRegistry, type PostgresDataSource } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { APP_ROLE, WORKER_ROLE, type DB } from '../../src/index.js';

/** Test-only password of both roles (roles are cluster-global on the test server). */
export const TEST_PASSWORD = 'stellaops-app-test-pw';

/** Gives the app and worker roles LOGIN and the test password (idempotent; the migrations created them NOLOGIN). */
export async function enableLogins(adminConnectionString: string): Promise<void> {
  const c = new pg.Client(adminConnectionString);
  await c.connect();
  try {
    for (const role of [APP_ROLE, WORKER_ROLE]) await ensureAppRole(c, { role, password: TEST_PASSWORD });
  } finally {
    await c.end();
  }
}

/** Data sources opened by a test, closed after it. */
export class OpenedSources {
  readonly #all: Array<PostgresDataSource<DB>> = [];

  /** Opens Scheduler's data source on the test database as `role`, with its own pool of `max` connections. */
  open(db: TestDatabaseHandle, role: typeof APP_ROLE | typeof WORKER_ROLE = APP_ROLE, max = 4): PostgresDataSource<DB> {
    const ds = createDataSource<DB>(
      { connectionString: db.server.urlFor(db.database, { user: role, password: TEST_PASSWORD }), pool: { max }, ...db.server.tenantKey },
      { module: 'Scheduler', registry: new PoolRegistry() },
    );
    this.#all.push(ds);
    return ds;
  }

  /** Closes every data source opened so far. */
  async closeAll(): Promise<void> {
    await Promise.all(this.#all.splice(0).map((d) => d.close()));
  }
}

/** Moves the leases of running runs into the past (the clock moves instead of the test waiting), as the superuser. */
export async function expireLeases(db: TestDatabaseHandle): Promise<void> {
  await db.pool.query(`update scheduler.runs set lease_expires_at = now() - interval '1 millisecond' where status = 'running'`);
}
