// Connects the tests as the app role: a plain, non-owner role that RLS applies to.
import { createDataSource, ensureAppRole, PoolRegistry, type PostgresDataSource } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
// Brings the fixture's `ProvidedContext` augmentation into the typecheck program.
import type {} from '@stellaops/test-fixture/global-setup';
import { APP_ROLE, type DB } from '../../src/index.js';

/** Test-only password of the app role (roles are cluster-global on the test server). */
export const APP_PASSWORD = 'stellaops-app-test-pw';

/** Gives the app role LOGIN and the test password (idempotent; the migrations created it NOLOGIN). */
export async function enableAppLogin(adminConnectionString: string): Promise<void> {
  const c = new pg.Client(adminConnectionString);
  await c.connect();
  try {
    await ensureAppRole(c, { role: APP_ROLE, password: APP_PASSWORD });
  } finally {
    await c.end();
  }
}

/** Data sources opened by a test, closed after it. */
export class OpenedSources {
  readonly #all: Array<PostgresDataSource<DB>> = [];

  /** Opens Scheduler's data source on the test database as the app role, with its own pool of `max` connections. */
  open(db: TestDatabaseHandle, max = 4): PostgresDataSource<DB> {
    const ds = createDataSource<DB>(
      { connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }), pool: { max } },
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
