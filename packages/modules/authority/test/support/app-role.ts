// Connects the tests as the app role: a plain, non-owner role that RLS applies to.
import { createDataSource, ensureAppRole, PoolRegistry, type PostgresDataSource } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { APP_ROLE, type DB } from '../../src/index.js';

/** Test-only password of the app role (the role is cluster-global on the test server). */
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

/** Opens Authority's data source on the test database as the app role; closed by `closeAll`. */
export function appDataSource(db: TestDatabaseHandle, opened: Array<PostgresDataSource<DB>>): PostgresDataSource<DB> {
  const ds = createDataSource<DB>(
    {
      connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }),
      pool: { max: 4 },
      ...db.server.tenantKey,
    },
    { module: 'Authority', registry: new PoolRegistry() },
  );
  opened.push(ds);
  return ds;
}
