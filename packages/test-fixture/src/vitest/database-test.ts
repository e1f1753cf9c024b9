import { test as baseTest } from 'vitest';
import { DatabaseFactory } from '../database-factory.js';
import type { ClonePool } from '../template/clone-pool.js';
import { TestDatabase } from '../test-database.js';
import { useTestServer, type UseTestDatabaseOptions } from './use-test-database.js';

/**
 * A vitest `test` with a `db` fixture: each test gets its own database, also
 * when tests run concurrently (`test.concurrent`), which the shared handle of
 * {@link useTestDatabase} cannot offer. The clone pool lives per file.
 *
 * @example
 * ```ts
 * const test = databaseTest({ migrations: notifyMigrations });
 * test.concurrent('claims once', async ({ db }) => {
 *   await db.pool.query('select 1');
 * });
 * ```
 */
export function databaseTest(options: Omit<UseTestDatabaseOptions, 'scope'> = {}) {
  const keep = options.keepOnFailure ?? process.env.STELLAOPS_TEST_PG_KEEP_FAILED === '1';
  return baseTest.extend<{ $test: { db: TestDatabase }; $file: { stellaopsClonePool: ClonePool } }>({
    stellaopsClonePool: [
      // eslint-disable-next-line no-empty-pattern
      async ({}, use) => {
        const server = useTestServer();
        const factory = new DatabaseFactory(server);
        try {
          await use(await factory.pool(options.migrations));
        } finally {
          await factory.close();
        }
      },
      { scope: 'file' },
    ],
    db: async ({ stellaopsClonePool, task }, use) => {
      const server = useTestServer();
      const { name, pool: warm } = await stellaopsClonePool.acquire();
      const db = new TestDatabase(name, server.urlFor(name), (k) => stellaopsClonePool.release(name, k), warm);
      try {
        await use(db);
      } finally {
        const kept = await db.release({ keep: keep && task.result?.state === 'fail' });
        if (kept) console.log(`[test-fixture] kept database of failed test "${task.name}": ${kept}`);
      }
    },
  });
}
