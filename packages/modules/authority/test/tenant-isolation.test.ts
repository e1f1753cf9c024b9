import { sessionUserAndOwner } from '@stellaops/module-testkit';
import { DatabaseError, ForeignKeyViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { APP_ROLE, ClientRepository, RoleRepository, TenantRepository, TokenRepository, UserRepository, type DB } from '../src/index.js';
import { useAuthorityDatabase } from './support/authority-db.js';

// as the app role (RLS applies); db.pool (superuser) only checks the tables
const { db, sources } = await useAuthorityDatabase();
let ds: PostgresDataSource<DB>;

interface Seeded {
  userId: string;
  roleId: string;
  token: string;
  tokenId: string;
}

async function seed(tenant: string): Promise<Seeded> {
  return ds.withTenant(tenant, async (trx) => {
    await new TenantRepository(trx).create({ displayName: tenant });
    const user = await new UserRepository(trx).create({ login: 'admin' });
    const role = await new RoleRepository(trx).create({ name: 'admin', permissions: [`${tenant}:all`] });
    await new RoleRepository(trx).grant(user.id, role.id);
    await new ClientRepository(trx).register({ clientId: 'cli', displayName: 'CLI' });
    const issued = await new TokenRepository(trx).issue({ kind: 'access', clientId: 'cli', userId: user.id, ttlSeconds: 600 });
    return { userId: user.id, roleId: role.id, token: issued.token, tokenId: issued.record.id };
  });
}

async function countAll(): Promise<Record<string, number>> {
  const r = await db.pool.query<{ t: string; n: number }>(
    `select 'tenants' as t, count(*)::int as n from authority.tenants union all select 'users', count(*)::int from authority.users
     union all select 'clients', count(*)::int from authority.clients union all select 'tokens', count(*)::int from authority.tokens
     union all select 'roles', count(*)::int from authority.roles union all select 'user_roles', count(*)::int from authority.user_roles`,
  );
  return Object.fromEntries(r.rows.map((x) => [x.t, x.n]));
}

const TABLES = [
  'authority.tenants',
  'authority.users',
  'authority.clients',
  'authority.tokens',
  'authority.roles',
  'authority.user_roles',
] as const;

beforeEach(() => {
  ds = sources.open();
});

describe('tenant isolation through the app role', () => {
  it('connects as a role that is not the tables owner', async () => {
    const { user, owner } = await sessionUserAndOwner(ds, 'authority.users');
    expect(user).toBe(APP_ROLE);
    expect(owner).not.toBe(APP_ROLE);
  });

  it('shows each tenant only its own rows in every table', async () => {
    const acme = await seed('acme');
    const globex = await seed('globex');
    for (const [tenant, own] of [
      ['acme', acme],
      ['globex', globex],
    ] as const) {
      const t = ds.forTenant(tenant);
      for (const table of TABLES) {
        const rows = await t.selectFrom(table).select('tenant_id').execute();
        expect(rows.length, `${tenant} ${table}`).toBe(1);
        expect(new Set(rows.map((r) => r.tenant_id)), `${tenant} ${table}`).toEqual(new Set([tenant]));
      }
      expect((await new UserRepository(t).findByLogin('admin'))?.id).toBe(own.userId);
      expect(await new RoleRepository(t).permissionsOf(own.userId)).toEqual([`${tenant}:all`]);
    }
    // the other tenant's ids and tokens resolve to nothing
    const g = ds.forTenant('globex');
    expect(await new UserRepository(g).findById(acme.userId)).toBeUndefined();
    expect(await new TokenRepository(g).findActive(acme.token)).toBeUndefined();
    expect(await new TokenRepository(g).findById(acme.tokenId)).toBeUndefined();
    expect(await new RoleRepository(g).rolesOf(acme.userId)).toEqual([]);
    expect(await new TokenRepository(ds.forTenant('acme')).findActive(acme.token)).toBeDefined();
  });

  it("cannot update, revoke or delete another tenant's rows", async () => {
    const acme = await seed('acme');
    await seed('globex');
    const before = await countAll();
    const g = ds.forTenant('globex');
    expect(await new UserRepository(g).setStatus(acme.userId, 'disabled')).toBeUndefined();
    expect(await new UserRepository(g).delete(acme.userId)).toBe(false);
    expect(await new TokenRepository(g).revoke(acme.tokenId, 'x')).toBe(false);
    expect(await new RoleRepository(g).revoke(acme.userId, acme.roleId)).toBe(false);
    expect(await new RoleRepository(g).delete(acme.roleId)).toBe(false);
    // unfiltered statements reach only the session tenant's rows
    const upd = await g.updateTable('authority.users').set({ display_name: 'hacked' }).executeTakeFirst();
    expect(upd.numUpdatedRows).toBe(1n);
    const del = await g.deleteFrom('authority.tokens').executeTakeFirst();
    expect(del.numDeletedRows).toBe(1n);
    const acmeRows = await db.pool.query(
      `select u.display_name, u.status, t.revoked_at from authority.users u join authority.tokens t using (tenant_id) where u.tenant_id = 'acme'`,
    );
    expect(acmeRows.rows).toEqual([{ display_name: null, status: 'active', revoked_at: null }]);
    expect(await countAll()).toEqual({ ...before, tokens: before.tokens! - 1 });
  });

  it("rejects writes of rows for another tenant and references to another tenant's rows", async () => {
    const acme = await seed('acme');
    await seed('globex');
    const before = await countAll();
    const g = ds.forTenant('globex');
    await expect(g.insertInto('authority.users').values({ tenant_id: 'acme', login: 'intruder' }).execute()).rejects.toMatchObject({
      sqlState: '42501',
    });
    await expect(g.updateTable('authority.users').set({ tenant_id: 'acme' }).execute()).rejects.toMatchObject({ sqlState: '42501' });
    await expect(g.insertInto('authority.tenants').values({ tenant_id: 'initech', display_name: 'x' }).execute()).rejects.toMatchObject({
      sqlState: '42501',
    });
    // globex cannot grant acme's role, nor issue a token for acme's user: the keys include tenant_id
    const gAdmin = (await new UserRepository(g).findByLogin('admin'))!;
    await expect(new RoleRepository(g).grant(gAdmin.id, acme.roleId)).rejects.toBeInstanceOf(ForeignKeyViolationError);
    await expect(
      new TokenRepository(g).issue({ kind: 'access', clientId: 'cli', userId: acme.userId, ttlSeconds: 60 }),
    ).rejects.toBeInstanceOf(ForeignKeyViolationError);
    expect(await countAll()).toEqual(before);
  });

  it('sees no rows and cannot insert without a tenant', async () => {
    await seed('acme');
    const before = await countAll();
    for (const table of TABLES) expect(await ds.db.selectFrom(table).select('tenant_id').execute(), table).toEqual([]);
    await expect(new TenantRepository(ds.db).create({ displayName: 'no tenant' })).rejects.toBeInstanceOf(DatabaseError);
    await expect(ds.db.insertInto('authority.tenants').values({ tenant_id: 'acme2', display_name: 'x' }).execute()).rejects.toBeInstanceOf(
      DatabaseError,
    );
    await expect(ds.db.insertInto('authority.users').values({ tenant_id: 'acme', login: 'x' }).execute()).rejects.toMatchObject({
      sqlState: '42501',
    });
    expect((await ds.db.updateTable('authority.users').set({ display_name: 'x' }).executeTakeFirst()).numUpdatedRows).toBe(0n);
    expect((await ds.db.deleteFrom('authority.users').executeTakeFirst()).numDeletedRows).toBe(0n);
    expect(await countAll()).toEqual(before);
  });

  it('cannot switch row level security off or take over the tables', async () => {
    for (const stmt of [
      sql`alter table authority.users disable row level security`,
      sql`alter table authority.users no force row level security`,
      sql`drop policy users_tenant_isolation on authority.users`,
      sql`create table authority.sneaky (id int)`,
      sql`truncate authority.users`,
    ]) {
      await expect(stmt.execute(ds.forTenant('acme'))).rejects.toBeInstanceOf(DatabaseError);
    }
    const r = await db.pool.query<{ rls: boolean; force: boolean }>(
      `select relrowsecurity as rls, relforcerowsecurity as force from pg_class where oid = 'authority.users'::regclass`,
    );
    expect(r.rows[0]).toEqual({ rls: true, force: true });
  });
});
