// The test database for Authority's repository tests, used as the app role (no owner privileges, RLS applies);
// the superuser pool (db.pool) only checks what really is in the tables.
import { templateMigrations, useModuleRoles, type ModuleRoles } from '@stellaops/module-testkit';
import { useTestDatabase, type TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { APP_ROLE, migrations, type DB } from '../../src/index.js';

/** Registers a migrated database per test and the app role's data sources (closed after each test). */
export async function useAuthorityDatabase(): Promise<{ db: TestDatabaseHandle; sources: ModuleRoles<DB> }> {
  const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
  return { db, sources: useModuleRoles<DB>(db, { module: 'Authority', roles: [APP_ROLE] }) };
}
