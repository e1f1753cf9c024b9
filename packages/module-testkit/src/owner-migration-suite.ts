import { createHash } from 'node:crypto';
import { SchemaMigrator, type MigrationSet } from '@stellaops/migrator';
import {
  appRoleHardeningSql,
  checkAppRole,
  createRoleIfMissingSql,
  DEFAULT_APP_ROLE,
  ensureAppRole,
  installTenantKey,
  quoteIdentifier,
  SECURITY_SCHEMA,
  securityMigrations,
  TenantKey,
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
  /**
   * A tenant-owned table and an insert into it (as the superuser, naming no
   * tag), to show FORCE ROW LEVEL SECURITY binds even the owner. `tenant` is
   * the row's tenant (default `acme`).
   */
  tenantRow: { table: string; insert: string; tenant?: string };
  /**
   * The migration that adds row tenant tags (`tenantIsolationSql`'s column,
   * backfill and triggers), one of {@link migrationIds} after the first,
   * e.g. `V005_RowTenantTags`: the suite then also
   * applies the migrations before it, inserts {@link tenantRow}, and shows
   * that this one stops while no tenant key is installed and, with the key,
   * tags the existing row for its tenant.
   */
  tagMigration?: string;
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
 * missing role is reported by name. With `tagMigration`, also the row tenant
 * tag backfill: applied to a table with a row, it stops while no tenant key
 * is installed and tags the row once one is.
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
  const fixtureKey = (): TenantKey => new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);
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
      // FORCE ROW LEVEL SECURITY: even the owner sees nothing without a tenant (the fill trigger of a tagged table needs a key)
      await installTenantKey(db.pool, fixtureKey());
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

    if (o.tagMigration !== undefined) {
      const tagMigration = o.tagMigration;
      it(`${tagMigration} tags existing rows with the installed tenant key, and stops while none is installed`, async () => {
        const before = o.migrationIds[o.migrationIds.indexOf(tagMigration) - 1];
        expect(before, `${tagMigration} is not a migration after the first one`).toBeDefined();
        for (const role of o.requiredRoles) await ensureAppRole(db.pool, { role });
        await prepareOwner();
        const migrator = new SchemaMigrator({ connectionString: ownerUrl(), ...o.migrations });
        await migrator.up({ to: before });
        await db.pool.query(o.tenantRow.insert);
        const error = await migrator.up().catch((e: unknown) => e);
        expect(error).toMatchObject({ migrationId: tagMigration, sqlState: 'P0002', rolledBack: true });
        expect(String((error as Error).message)).toMatch(/no tenant key \(any\) is installed/);
        expect((await migrator.status()).migrations.find((m) => m.id === tagMigration)?.state).toBe('pending');
        await installTenantKey(db.pool, fixtureKey());
        await migrator.up();
        const tenant = o.tenantRow.tenant ?? 'acme';
        const tag = createHash('sha256').update(fixtureKey().proofFor(tenant), 'utf8').digest();
        const rows = await db.pool.query<{ tagged: boolean }>(`select tenant_tag = $1 as tagged from ${o.tenantRow.table}`, [tag]);
        expect(rows.rows).toEqual([{ tagged: true }]);
        // FORCE, lifted for the backfill, is back
        const force = await db.pool.query<{ force: boolean }>(
          `select relforcerowsecurity as force from pg_class where oid = $1::regclass`,
          [o.tenantRow.table],
        );
        expect(force.rows).toEqual([{ force: true }]);
      });
    }

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
