import type { Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { redactConnectionString } from '@stellaops/safe-text';
import { DatabaseFactory } from '../database-factory.js';
import { FixtureConfigError, FixtureError } from '../errors/index.js';
import { urlFor, type TestServerInfo } from '../server/test-server.js';
import { fixtureTenantKey, type FixtureTenantKey } from '../server/tenant-key.js';
import type { ClonePool } from '../template/clone-pool.js';
import type { TemplateMigrations } from '../template/template-migrations.js';
import { TestDatabase } from '../test-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL server, provided by `@stellaops/test-fixture/global-setup`. */
    stellaopsPg: TestServerInfo;
  }
}

/** Options of {@link useTestDatabase}. */
export interface UseTestDatabaseOptions {
  /** Schema every database starts with; default empty. */
  migrations?: TemplateMigrations;
  /** `test` (default): a fresh database per test; `file`: one for all tests of the file (or describe block). */
  scope?: 'test' | 'file';
  /** Keep a failing test's database (renamed `fx_keep_…`, name printed); default `STELLAOPS_TEST_PG_KEEP_FAILED=1`. */
  keepOnFailure?: boolean;
}

/** The server of this run, as the global setup provided it. */
export interface TestServerHandle extends TestServerInfo {
  /** Superuser URL of the admin database. */
  adminConnectionString: string;
  /** URL of `database` as the superuser, or as the given role. */
  urlFor(database: string, credentials?: { user: string; password?: string }): string;
  /**
   * The server's test tenant key, installed in every template whose migrations
   * include the security schema: spread it into the data source's options.
   *
   * @example
   * ```ts
   * createDataSource({ connectionString: db.server.urlFor(db.database, app), ...db.server.tenantKey });
   * ```
   */
  tenantKey: FixtureTenantKey;
}

/** What {@link useTestDatabase} returns: the current test's database. */
export interface TestDatabaseHandle {
  /** Name of the current database. */
  readonly database: string;
  /** Superuser URL of the current database. */
  readonly connectionString: string;
  /** A `pg` pool on the current database, closed after the test. */
  readonly pool: pg.Pool;
  /** A Kysely instance on the current database. */
  kysely<DB>(): Kysely<DB>;
  /** The server (for roles, other databases, admin work). */
  readonly server: TestServerHandle;
}

function serverInfo(): TestServerInfo {
  const info = inject('stellaopsPg');
  if (!info) {
    throw new FixtureConfigError(
      'No test PostgreSQL was provided to this test run. ' +
        "Fix: add globalSetup: ['@stellaops/test-fixture/global-setup'] to the package's vitest config.",
    );
  }
  return info;
}

/**
 * The run's PostgreSQL server, for tests that work on the server itself
 * (roles, their own databases). Call at the top of a test file.
 */
export function useTestServer(): TestServerHandle {
  const info = serverInfo();
  return {
    ...info,
    adminConnectionString: urlFor(info, info.adminDatabase),
    urlFor: (database, credentials) => urlFor(info, database, credentials),
    tenantKey: fixtureTenantKey(info),
  };
}

function countTests(suite: { tasks?: readonly unknown[] }): number {
  let n = 0;
  for (const t of (suite.tasks ?? []) as { type: string; mode: string; tasks?: readonly unknown[] }[]) {
    if (t.type === 'test' && t.mode !== 'skip' && t.mode !== 'todo') n += 1;
    else if (t.type === 'suite') n += countTests(t);
  }
  return n;
}

/**
 * One line in a test file gives each test (or the whole file) its own
 * database, copied in milliseconds from a template that holds the migrated
 * schema. The template is built once per migration set across all workers
 * and runs; clones are prefilled in the background and dropped after use.
 *
 * @example
 * ```ts
 * const db = useTestDatabase({ migrations: authorityMigrations });
 * it('creates a user', async () => {
 *   await db.kysely<DB>().insertInto('authority.users').values(user).execute();
 * });
 * ```
 */
export function useTestDatabase(options: UseTestDatabaseOptions = {}): TestDatabaseHandle {
  const scope = options.scope ?? 'test';
  const keep = options.keepOnFailure ?? process.env.STELLAOPS_TEST_PG_KEEP_FAILED === '1';
  let factory: DatabaseFactory | undefined;
  let pool: ClonePool | undefined;
  let current: TestDatabase | undefined;
  let server: TestServerHandle | undefined;

  const attach = async (): Promise<void> => {
    const p = pool!;
    const { name, pool: warm } = await p.acquire();
    current = new TestDatabase(name, server!.urlFor(name), (k) => p.release(name, k), warm);
  };
  const detach = async (failed: boolean, label: string): Promise<void> => {
    const db = current;
    current = undefined;
    if (!db) return;
    const kept = await db.release({ keep: failed && keep });
    if (kept) console.log(`[test-fixture] kept database of failed ${label}: ${kept} (${redactConnectionString(server!.urlFor(kept))})`);
  };

  // vitest parses the first parameter of hooks as a fixture pattern: it must be a destructuring.
  // eslint-disable-next-line no-empty-pattern
  beforeAll(async ({}, suite) => {
    server = useTestServer();
    factory = new DatabaseFactory(server);
    pool = await factory.pool(options.migrations);
    if (scope === 'file') await attach();
    else pool.expect(countTests(suite));
  });
  if (scope === 'test') {
    beforeEach(attach);
    afterEach(async (ctx) => detach(ctx.task.result?.state === 'fail', `test "${ctx.task.name}"`));
  }
  // eslint-disable-next-line no-empty-pattern
  afterAll(async ({}, suite) => {
    const failed =
      scope === 'file' && (suite.result?.state === 'fail' || JSON.stringify(suite.tasks.map((t) => t.result?.state)).includes('fail'));
    await detach(failed, `file ${suite.name}`);
    await factory?.close();
  });

  const need = (): TestDatabase => {
    if (!current)
      throw new FixtureError(
        'FIXTURE_NO_DATABASE',
        "The test database is only available inside a test or its hooks (after useTestDatabase's beforeEach).",
      );
    return current;
  };
  return {
    get database() {
      return need().database;
    },
    get connectionString() {
      return need().connectionString;
    },
    get pool() {
      return need().pool;
    },
    kysely<DB>() {
      return need().kysely<DB>();
    },
    get server() {
      if (!server) server = useTestServer();
      return server;
    },
  };
}
