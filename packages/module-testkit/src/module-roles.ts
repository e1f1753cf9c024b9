import { createDataSource, ensureAppRole, PoolRegistry, type PostgresDataSource } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * Test-only password of the modules' login roles. Roles are cluster-global on
 * the shared test server, so every package's tests must give them the same one.
 */
export const TEST_ROLE_PASSWORD = 'stellaops-app-test-pw';

/**
 * Gives `roles` LOGIN and `password` (idempotent: the migrations create them
 * NOLOGIN), as the server's admin.
 *
 * @example
 * ```ts
 * beforeAll(() => enableRoleLogins(db.server.adminConnectionString, [APP_ROLE, WORKER_ROLE]));
 * ```
 */
export async function enableRoleLogins(
  adminConnectionString: string,
  roles: readonly string[],
  password: string = TEST_ROLE_PASSWORD,
): Promise<void> {
  const c = new pg.Client(adminConnectionString);
  await c.connect();
  try {
    for (const role of roles) await ensureAppRole(c, { role, password });
  } finally {
    await c.end();
  }
}

/**
 * The URL of the test database as `role` with {@link TEST_ROLE_PASSWORD}.
 *
 * @example
 * ```ts
 * const url = roleConnectionString(db, WORKER_ROLE);
 * ```
 */
export function roleConnectionString(db: TestDatabaseHandle, role: string, password: string = TEST_ROLE_PASSWORD): string {
  return db.server.urlFor(db.database, { user: role, password });
}

/** Options of {@link useModuleRoles}. */
export interface ModuleRolesOptions {
  /** The module's name in pool metrics and errors, e.g. `Notify`. */
  module: string;
  /** The module's login roles; the first is the default of {@link ModuleRoles.open}. */
  roles: readonly [string, ...string[]];
}

/** The module's roles in a test file, from {@link useModuleRoles}. */
export interface ModuleRoles<DB> {
  /** The roles' test password ({@link TEST_ROLE_PASSWORD}). */
  readonly password: string;
  /**
   * Opens the module's data source on the test database as `role` (default:
   * the first role), with its own pool of `max` connections and the
   * fixture's tenant key (`forTenant` sessions carry the proof the database
   * verifies). Closed after the test.
   */
  open(role?: string, max?: number): PostgresDataSource<DB>;
  /** The URL of the test database as `role` (default: the first role). */
  url(role?: string): string;
}

/**
 * Connects a test file as the module's own roles: plain, non-owner roles that
 * RLS applies to. Registers a `beforeAll` that gives the roles LOGIN
 * ({@link enableRoleLogins}) and an `afterEach` that closes every data source
 * opened; call it at the top level after `useTestDatabase`.
 *
 * @example
 * ```ts
 * const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
 * const roles = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });
 * let app: PostgresDataSource<DB>;
 * beforeEach(() => {
 *   app = roles.open();
 * });
 * ```
 */
export function useModuleRoles<DB>(db: TestDatabaseHandle, options: ModuleRolesOptions): ModuleRoles<DB> {
  const opened: Array<PostgresDataSource<DB>> = [];
  const [defaultRole] = options.roles;
  const closeAll = async (): Promise<void> => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
  };
  beforeAll(() => enableRoleLogins(db.server.adminConnectionString, options.roles));
  afterEach(closeAll);
  afterAll(closeAll);
  return {
    password: TEST_ROLE_PASSWORD,
    open(role = defaultRole, max = 4) {
      const ds = createDataSource<DB>(
        { connectionString: roleConnectionString(db, role), pool: { max }, ...db.server.tenantKey },
        { module: options.module, registry: new PoolRegistry() },
      );
      opened.push(ds);
      return ds;
    },
    url: (role = defaultRole) => roleConnectionString(db, role),
  };
}

/**
 * The role a data source connects as and the owner of `table`
 * (`schema.table`), read through that data source: a module's roles must own
 * nothing, or RLS would not apply to them. Throws when there is no such table.
 *
 * @example
 * ```ts
 * const { user, owner } = await sessionUserAndOwner(app, 'notify.deliveries');
 * expect(user).toBe(APP_ROLE);
 * expect(owner).not.toBe(APP_ROLE);
 * ```
 */
export async function sessionUserAndOwner<DB>(ds: PostgresDataSource<DB>, table: string): Promise<{ user: string; owner: string }> {
  const [schema, name] = table.split('.');
  const r = await sql<{ user: string; owner: string | null }>`
    select current_user as user, (select tableowner from pg_tables where schemaname = ${schema} and tablename = ${name}) as owner`.execute(
    ds.db,
  );
  const { user, owner } = r.rows[0]!;
  if (owner === null) throw new Error(`sessionUserAndOwner: there is no table ${table}`);
  return { user, owner };
}
