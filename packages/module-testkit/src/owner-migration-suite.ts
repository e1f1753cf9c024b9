import { SchemaMigrator, type MigrationSet } from '@stellaops/migrator';
import {
  appRoleHardeningSql,
  checkAppRole,
  createRoleIfMissingSql,
  DEFAULT_APP_ROLE,
  ensureAppRole,
  quoteIdentifier,
  SECURITY_SCHEMA,
  securityMigrations,
} from '@stellaops/postgres-core';
import { useTestDatabase, withClient } from '@stellaops/test-fixture/vitest';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';

/** What {@link ownerMigrationSuite} needs to know about a module. */
export interface OwnerMigrationSuiteOptions {
  /** The module's migration set (`defineMigrationSet({ schema, migrations })`). */
  migrations: MigrationSet;
  /** Roles the migrations grant to (the module's `REQUIRED_ROLES`); each must end up fit to be an app role. */
  requiredRoles: readonly string[];
  /** Migration ids, in order. */
  migrationIds: readonly string[];
  /** The schema's tables after all migrations (without `_migrations`), sorted. */
  tables: readonly string[];
  /** A tenant-owned table and an insert into it, to show FORCE ROW LEVEL SECURITY binds even the owner. */
  tenantRow: { table: string; insert: string };
}

const OWNER = 'stellaops_test_owner';
const OWNER_PASSWORD = 'stellaops-test-owner-pw';

/**
 * Registers the production-path tests of a module's migrations: applied by an
 * owner role that is neither superuser nor CREATEROLE (like `stella-db up`'s
 * `stellaops_owner`) after the required roles exist and after postgres-core's
 * security migrations (schema `stellaops_security`), on a database where the
 * app role has no TEMP, CREATE, plpgsql or dynamic-SQL built-ins; the owner owns every
 * table, the roles own nothing and cannot bypass RLS, even the owner sees no
 * tenant row without a tenant, everything rolls back and re-applies, and a
 * missing role is reported by name.
 *
 * @example
 * ```ts
 * ownerMigrationSuite({ migrations, requiredRoles: REQUIRED_ROLES, migrationIds: ['V001_X'], tables: ['x'],
 *   tenantRow: { table: 'mod.x', insert: "insert into mod.x (tenant_id) values ('acme')" } });
 * ```
 */
export function ownerMigrationSuite(o: OwnerMigrationSuiteOptions): void {
  const db = useTestDatabase(); // an empty database
  const schema = o.migrations.schema;
  const ownerUrl = (): string => db.server.urlFor(db.database, { user: OWNER, password: OWNER_PASSWORD });
  const asOwner = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withClient(ownerUrl(), fn);
  const tables = async (): Promise<string[]> =>
    (
      await db.pool.query<{ t: string }>(
        `select tablename as t from pg_tables where schemaname = $1 and tablename <> '_migrations' order by 1`,
        [schema],
      )
    ).rows.map((r) => r.t);
  // Like stella-db up: the owner applies postgres-core's security set (current_tenant(), key table) before the
  // module's migrations, and the superuser takes TEMP, CREATE, plpgsql and dynamic-SQL built-ins from the app role.
  const prepareOwner = async (): Promise<void> => {
    await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
    await db.pool.query(`grant create on database ${quoteIdentifier(db.database)} to ${quoteIdentifier(OWNER)}`);
    await ensureAppRole(db.pool, { role: DEFAULT_APP_ROLE });
    for (const s of appRoleHardeningSql({ database: db.database, appRole: DEFAULT_APP_ROLE, ownerRole: OWNER })) await db.pool.query(s);
    await new SchemaMigrator({ connectionString: ownerUrl(), schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
  };

  describe(`migrating ${schema} as a non-superuser owner without CREATEROLE`, () => {
    it('applies every migration; the owner owns the tables and RLS still binds the module roles', async () => {
      for (const role of o.requiredRoles) await ensureAppRole(db.pool, { role });
      await prepareOwner();
      const report = await new SchemaMigrator({ connectionString: ownerUrl(), ...o.migrations }).up();
      expect(report.results.map((m) => [m.id, m.status])).toEqual(o.migrationIds.map((id) => [id, 'applied']));
      const owners = await db.pool.query<{ owner: string }>('select distinct tableowner as owner from pg_tables where schemaname = $1', [
        schema,
      ]);
      expect(owners.rows).toEqual([{ owner: OWNER }]);
      for (const role of o.requiredRoles) expect(await checkAppRole(db.pool, role), role).toEqual([]);
      // FORCE ROW LEVEL SECURITY: even the owner sees nothing without a tenant
      await db.pool.query(o.tenantRow.insert);
      const seen = await asOwner((c) => c.query<{ n: number }>(`select count(*)::int as n from ${o.tenantRow.table}`));
      expect(seen.rows[0]?.n).toBe(0);
    });

    it('rolls every migration back and applies them again', async () => {
      await prepareOwner();
      const migrator = new SchemaMigrator({ connectionString: ownerUrl(), ...o.migrations });
      await migrator.up();
      expect(await tables()).toEqual(o.tables);
      const down = await migrator.down({ all: true });
      expect(down.results.every((r) => r.status === 'reverted')).toBe(true);
      expect(await tables()).toEqual([]);
      await migrator.up();
      expect(await tables()).toEqual(o.tables);
      expect((await migrator.verify()).ok).toBe(true);
    });

    it('says which role is missing when the owner may not create it', async () => {
      await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
      const error = await asOwner((c) => c.query(createRoleIfMissingSql('stellaops_test_never_created'))).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: '42501',
        message: `role stellaops_test_never_created does not exist and ${OWNER} may not create it`,
      });
      const exists = await db.pool.query(`select 1 from pg_roles where rolname = 'stellaops_test_never_created'`);
      expect(exists.rowCount).toBe(0);
    });
  });
}
