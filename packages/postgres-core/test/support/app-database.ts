// Shared set-up of the data-source tests: the fixture's database with postgres-core's schema, the test app role,
// its connection URL, and the data sources a test opened, closed after it.
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { afterEach, beforeAll } from 'vitest';
import type { PostgresDataSource } from '../../src/index.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, ensureTestRole, type TestDB } from './schema.js';

/**
 * Registers the fixture database (a fresh one per test) and the hooks: the app role exists before the first
 * test, and every data source pushed to `opened` is closed after each test.
 */
export function useAppDatabase(): {
  db: ReturnType<typeof useTestDatabase>;
  opened: Array<PostgresDataSource<TestDB>>;
  appUrl: () => string;
} {
  const db = useTestDatabase({ migrations: coreRlsMigrations, scope: 'test' });
  const opened: Array<PostgresDataSource<TestDB>> = [];
  beforeAll(async () => {
    await ensureTestRole(db.server.adminConnectionString);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });
  const appUrl = (): string => db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD });
  return { db, opened, appUrl };
}
