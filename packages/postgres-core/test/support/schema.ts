import { createHash } from 'node:crypto';
// The schema the postgres-core tests run against: two tenant-isolated tables,
// owned by the superuser that migrates; a plain app role with DML grants only.
import type { Generated } from 'kysely';
import pg from 'pg';
import {
  appRoleHardeningSql,
  ensureAppRole,
  installTenantKey,
  securityMigrations,
  TenantKey,
  tenantIsolationSql,
  type Queryable,
} from '../../src/index.js';

export const APP_ROLE = 'pgcore_test_app';
export const APP_PASSWORD = 'pgcore-test-app-pw';

export interface TestDB {
  items: { id: number; tenant_id: string; name: string; qty: Generated<number>; parent_id: number | null };
  notes: { id: Generated<number>; tenant_id: string; body: string };
  plain: { id: number; v: string };
}

/** Creates the app role (cluster-global, idempotent). */
export async function ensureTestRole(connectionString: string): Promise<void> {
  const c = new pg.Client(connectionString);
  await c.connect();
  try {
    await ensureAppRole(c, { role: APP_ROLE, password: APP_PASSWORD });
  } finally {
    await c.end();
  }
}

/** Tenant key for tests on a dedicated server (not the fixture's, whose key is `db.server.tenantKey`). */
export const DEDICATED_TENANT_KEY = { tenantKeyId: 'dedicated', tenantKey: 'pgcore-dedicated-test-tenant-key-0123456789' } as const;

/**
 * What `stella-db up` does before module migrations, for a test database (as
 * its superuser): postgres-core's security migrations (the same frozen SQL),
 * EXECUTE on current_tenant() for the test app role, least privilege for it,
 * and the tenant key.
 */
export async function installSecurity(
  c: Queryable,
  args: { database: string; appRole?: string; key: { tenantKeyId: string; tenantKey: string } },
): Promise<void> {
  const appRole = args.appRole ?? APP_ROLE;
  await c.query('create schema if not exists stellaops_security');
  for (const m of securityMigrations) await c.query(m.up);
  await c.query(`grant usage on schema stellaops_security to ${appRole}`);
  await c.query(`grant execute on function stellaops_security.current_tenant() to ${appRole}`);
  for (const s of appRoleHardeningSql({ database: args.database, appRole })) await c.query(s);
  await installTenantKey(c, new TenantKey(args.key.tenantKeyId, args.key.tenantKey));
}

export const coreRlsMigrations = {
  name: 'pgcore-rls',
  // the template is rebuilt whenever the frozen security SQL changes
  hash: `pgcore-rls-v5:${createHash('sha256')
    .update(securityMigrations.map((m) => m.up).join('\n'))
    .digest('hex')}`,
  migrate: async ({
    connectionString,
    database,
    tenantKey,
  }: {
    connectionString: string;
    database: string;
    tenantKey: { tenantKeyId: string; tenantKey: string };
  }): Promise<void> => {
    await ensureTestRole(connectionString);
    const c = new pg.Client(connectionString);
    await c.connect();
    try {
      await installSecurity(c, { database, key: tenantKey });
      await c.query(`
        create table items (
          id int primary key,
          tenant_id text not null,
          name text not null,
          qty int not null default 0 check (qty >= 0),
          parent_id int references items(id)
        );
        create index on items (tenant_id);
        create table notes (id serial primary key, tenant_id text not null, body text not null);
        create index on notes (tenant_id);
        create table plain (id int primary key, v text not null);
      `);
      for (const t of ['items', 'notes']) for (const s of tenantIsolationSql({ table: t })) await c.query(s);
      await c.query(`grant select, insert, update, delete on items, notes, plain to ${APP_ROLE}`);
      await c.query(`grant usage, select on all sequences in schema public to ${APP_ROLE}`);
    } finally {
      await c.end();
    }
  },
};

/** The password {@link tableOwner} gives its role. */
export const OWNER_PASSWORD = 'pgcore-test-owner-pw';

/**
 * Makes `role` (a plain login role: no superuser, no BYPASSRLS, subject to FORCE) the owner of the tagged test
 * tables, with what the owner role has in production for re-tagging (the key table, `tenant_tag()`).
 */
export async function tableOwner(pool: pg.Pool, role: string): Promise<void> {
  await pool.query(`do $$ begin create role ${role} login password '${OWNER_PASSWORD}'; exception when duplicate_object then null; end $$`);
  await pool.query(`alter role ${role} with login nosuperuser nobypassrls password '${OWNER_PASSWORD}'`); // it may exist from an earlier run
  for (const t of ['items', 'notes']) await pool.query(`alter table ${t} owner to ${role}`);
  await pool.query(`grant usage on schema stellaops_security to ${role}`);
  await pool.query(`grant select on stellaops_security.tenant_keys to ${role}`);
  await pool.query(`grant execute on function stellaops_security.tenant_tag(text, text) to ${role}`);
}
