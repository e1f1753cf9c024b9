import { CheckViolationError, ForeignKeyViolationError, UniqueViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { ClientRepository, hashSecret, RoleRepository, TenantRepository, TokenRepository, UserRepository, type DB } from '../src/index.js';
import { useAuthorityDatabase } from './support/authority-db.js';

// as the app role (RLS applies); db.pool (superuser) only checks the tables
const { db, sources } = await useAuthorityDatabase();
let ds: PostgresDataSource<DB>;

beforeEach(async () => {
  ds = sources.open();
  await new TenantRepository(ds.forTenant('acme')).create({ displayName: 'Acme' });
});

describe('TenantRepository', () => {
  it('creates the session tenant once, renames and suspends it', async () => {
    const tenants = new TenantRepository(ds.forTenant('acme'));
    expect(await tenants.current()).toMatchObject({ tenant_id: 'acme', display_name: 'Acme', status: 'active' });
    await expect(tenants.create({ displayName: 'again' })).rejects.toBeInstanceOf(UniqueViolationError);
    expect(await tenants.rename('Acme Corp')).toMatchObject({ display_name: 'Acme Corp' });
    expect(await tenants.setStatus('suspended')).toMatchObject({ status: 'suspended' });
    expect(await new TenantRepository(ds.forTenant('globex')).current()).toBeUndefined();
  });
});

describe('UserRepository', () => {
  it('keeps logins unique per tenant regardless of case and finds them in any case', async () => {
    const users = new UserRepository(ds.forTenant('acme'));
    const alice = await users.create({ login: 'Alice', email: 'alice@acme.test' });
    expect(alice).toMatchObject({ tenant_id: 'acme', login: 'Alice', status: 'active', display_name: null });
    const dup = await users.create({ login: 'ALICE' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(UniqueViolationError);
    expect((dup as UniqueViolationError).constraint).toBe('users_tenant_login_key');
    expect((await users.findByLogin('aLiCe'))?.id).toBe(alice.id);
    expect(await users.findByLogin('bob')).toBeUndefined();
    expect((await users.findById(alice.id))?.login).toBe('Alice');

    // the same login in another tenant is a different user
    await new TenantRepository(ds.forTenant('globex')).create({ displayName: 'Globex' });
    const other = await new UserRepository(ds.forTenant('globex')).create({ login: 'alice' });
    expect(other.id).not.toBe(alice.id);
  });

  it('lists by login case-insensitively, pages, disables and deletes', async () => {
    const users = new UserRepository(ds.forTenant('acme'));
    for (const login of ['carol', 'Bob', 'alice']) await users.create({ login });
    expect((await users.list()).map((u) => u.login)).toEqual(['alice', 'Bob', 'carol']);
    expect((await users.list({ limit: 1, offset: 1 })).map((u) => u.login)).toEqual(['Bob']);
    const bob = (await users.findByLogin('bob'))!;
    expect(await users.setStatus(bob.id, 'disabled')).toMatchObject({ status: 'disabled' });
    expect(await users.delete(bob.id)).toBe(true);
    expect(await users.delete(bob.id)).toBe(false);
    expect(await users.findById(bob.id)).toBeUndefined();
  });

  it('rejects a user of a tenant that has no record', async () => {
    await expect(new UserRepository(ds.forTenant('nobody')).create({ login: 'x' })).rejects.toBeInstanceOf(ForeignKeyViolationError);
  });
});

describe('ClientRepository', () => {
  it('returns the secret once, stores only its SHA-256 hash and never returns the hash', async () => {
    const clients = new ClientRepository(ds.forTenant('acme'));
    const { client, secret } = await clients.register({
      clientId: 'cli',
      displayName: 'CLI',
      grantTypes: ['client_credentials'],
      scopes: ['scan:read'],
    });
    expect(secret).toMatch(/^stc_[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({
      client_id: 'cli',
      confidential: true,
      enabled: true,
      grant_types: ['client_credentials'],
      scopes: ['scan:read'],
    });
    expect(client).not.toHaveProperty('secret_hash');
    for (const view of [await clients.findById('cli'), ...(await clients.list())]) expect(view).not.toHaveProperty('secret_hash');

    const stored = await db.pool.query<{ secret_hash: Buffer }>(`select secret_hash from authority.clients where client_id = 'cli'`);
    expect(stored.rows[0]?.secret_hash.equals(hashSecret(secret!))).toBe(true);
    const anywhere = await db.pool.query(`select 1 from authority.clients c where position($1 in c::text) > 0`, [secret]);
    expect(anywhere.rowCount).toBe(0);
  });

  it('verifies the secret, not a wrong one, not after rotation, not when disabled', async () => {
    const clients = new ClientRepository(ds.forTenant('acme'));
    const { secret } = await clients.register({ clientId: 'svc', displayName: 'Service' });
    const verified = await clients.verifySecret('svc', secret!);
    expect(verified).toMatchObject({ client_id: 'svc' });
    expect(verified).not.toHaveProperty('secret_hash');
    expect(await clients.verifySecret('svc', `${secret!}x`)).toBeUndefined();
    expect(await clients.verifySecret('nope', secret!)).toBeUndefined();

    const rotated = await clients.rotateSecret('svc');
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(secret);
    expect(await clients.verifySecret('svc', secret!)).toBeUndefined();
    expect(await clients.verifySecret('svc', rotated!)).toBeDefined();
    expect((await clients.findById('svc'))?.secret_rotated_at).toBeInstanceOf(Date);

    await clients.setEnabled('svc', false);
    expect(await clients.verifySecret('svc', rotated!)).toBeUndefined();
    expect(await clients.rotateSecret('nope')).toBeUndefined();
  });

  it('registers public clients without a secret, rejects duplicate client ids, deletes', async () => {
    const clients = new ClientRepository(ds.forTenant('acme'));
    const pub = await clients.register({ clientId: 'spa', displayName: 'UI', confidential: false, redirectUris: ['https://ui.test/cb'] });
    expect(pub.secret).toBeUndefined();
    expect(pub.client).toMatchObject({ confidential: false, redirect_uris: ['https://ui.test/cb'] });
    expect(await clients.verifySecret('spa', '')).toBeUndefined();
    await expect(clients.register({ clientId: 'spa', displayName: 'again' })).rejects.toBeInstanceOf(UniqueViolationError);
    expect(await clients.delete('spa')).toBe(true);
    expect(await clients.findById('spa')).toBeUndefined();
  });
});

describe('TokenRepository', () => {
  async function setup() {
    const t = ds.forTenant('acme');
    await new ClientRepository(t).register({ clientId: 'cli', displayName: 'CLI' });
    const alice = await new UserRepository(t).create({ login: 'alice' });
    return { tokens: new TokenRepository(t), alice };
  }

  it('issues opaque tokens stored as hashes, expiring ttl seconds after issue', async () => {
    const { tokens, alice } = await setup();
    const { token, record } = await tokens.issue({
      kind: 'access',
      clientId: 'cli',
      userId: alice.id,
      scopes: ['scan:read'],
      ttlSeconds: 900,
    });
    expect(token).toMatch(/^sta_[A-Za-z0-9_-]{43}$/);
    expect(record).not.toHaveProperty('token_hash');
    expect(record).toMatchObject({ kind: 'access', client_id: 'cli', user_id: alice.id, scopes: ['scan:read'], revoked_at: null });
    expect(record.expires_at.getTime() - record.issued_at.getTime()).toBe(900_000);
    expect((await tokens.findActive(token))?.id).toBe(record.id);
    expect(await tokens.findActive(`${token}x`)).toBeUndefined();
    const stored = await db.pool.query<{ token_hash: Buffer }>('select token_hash from authority.tokens where id = $1', [record.id]);
    expect(stored.rows[0]?.token_hash.equals(hashSecret(token))).toBe(true);
    const refresh = await tokens.issue({ kind: 'refresh', clientId: 'cli', ttlSeconds: 60 });
    expect(refresh.token).toMatch(/^str_/);
  });

  it('revokes one token or all of a user, once', async () => {
    const { tokens, alice } = await setup();
    const a = await tokens.issue({ kind: 'access', clientId: 'cli', userId: alice.id, ttlSeconds: 60 });
    const b = await tokens.issue({ kind: 'refresh', clientId: 'cli', userId: alice.id, ttlSeconds: 60 });
    const c = await tokens.issue({ kind: 'access', clientId: 'cli', userId: alice.id, ttlSeconds: 60 });
    const other = await tokens.issue({ kind: 'access', clientId: 'cli', ttlSeconds: 60 });
    expect(await tokens.revoke(a.record.id, 'stolen')).toBe(true);
    expect(await tokens.revoke(a.record.id, 'again')).toBe(false);
    expect(await tokens.findActive(a.token)).toBeUndefined();
    expect(await tokens.findById(a.record.id)).toMatchObject({ revoked_reason: 'stolen' });
    expect(await tokens.revokeAllForUser(alice.id, 'logout')).toBe(2);
    expect(await tokens.findActive(b.token)).toBeUndefined();
    expect(await tokens.findActive(c.token)).toBeUndefined();
    expect(await tokens.findActive(other.token)).toBeDefined();
  });

  it('treats expired tokens as inactive and deletes them', async () => {
    const { tokens } = await setup();
    const old = await tokens.issue({ kind: 'access', clientId: 'cli', ttlSeconds: 60 });
    const fresh = await tokens.issue({ kind: 'access', clientId: 'cli', ttlSeconds: 60 });
    // move the clock for `old`: issued two hours ago, expired an hour ago
    await db.pool.query(
      `update authority.tokens set issued_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where id = $1`,
      [old.record.id],
    );
    expect(await tokens.findActive(old.token)).toBeUndefined();
    expect(await tokens.findActive(fresh.token)).toBeDefined();
    expect(await tokens.deleteExpired(7200)).toBe(0);
    expect(await tokens.deleteExpired()).toBe(1);
    expect(await tokens.findById(old.record.id)).toBeUndefined();
    expect(await tokens.findById(fresh.record.id)).toBeDefined();
  });

  it('rejects unknown clients or users and non-positive lifetimes', async () => {
    const { tokens } = await setup();
    await expect(tokens.issue({ kind: 'access', clientId: 'nope', ttlSeconds: 60 })).rejects.toBeInstanceOf(ForeignKeyViolationError);
    await expect(
      tokens.issue({ kind: 'access', clientId: 'cli', userId: '00000000-0000-0000-0000-000000000000', ttlSeconds: 60 }),
    ).rejects.toBeInstanceOf(ForeignKeyViolationError);
    await expect(tokens.issue({ kind: 'access', clientId: 'cli', ttlSeconds: 0 })).rejects.toBeInstanceOf(CheckViolationError);
  });
});

describe('RoleRepository', () => {
  it('grants roles to users and unions their permissions', async () => {
    const t = ds.forTenant('acme');
    const roles = new RoleRepository(t);
    const users = new UserRepository(t);
    const alice = await users.create({ login: 'alice' });
    const bob = await users.create({ login: 'bob' });
    const admin = await roles.create({ name: 'Admin', permissions: ['users:write', 'scan:read'] });
    const viewer = await roles.create({ name: 'viewer', description: 'read only', permissions: ['scan:read'] });
    await expect(roles.create({ name: 'ADMIN' })).rejects.toBeInstanceOf(UniqueViolationError);
    expect((await roles.findByName('admin'))?.id).toBe(admin.id);

    expect(await roles.grant(alice.id, admin.id, 'bootstrap')).toBe(true);
    expect(await roles.grant(alice.id, admin.id)).toBe(false);
    expect(await roles.grant(alice.id, viewer.id)).toBe(true);
    expect(await roles.grant(bob.id, viewer.id)).toBe(true);
    expect((await roles.rolesOf(alice.id)).map((r) => r.name)).toEqual(['Admin', 'viewer']);
    expect(await roles.permissionsOf(alice.id)).toEqual(['scan:read', 'users:write']);
    expect(await roles.permissionsOf(bob.id)).toEqual(['scan:read']);

    await roles.setPermissions(viewer.id, ['scan:read', 'report:read']);
    expect(await roles.permissionsOf(bob.id)).toEqual(['report:read', 'scan:read']);
    expect(await roles.revoke(alice.id, admin.id)).toBe(true);
    expect(await roles.revoke(alice.id, admin.id)).toBe(false);
    expect(await roles.permissionsOf(alice.id)).toEqual(['report:read', 'scan:read']);
    expect(await roles.delete(viewer.id)).toBe(true);
    expect(await roles.rolesOf(bob.id)).toEqual([]);
    expect((await roles.list()).map((r) => r.name)).toEqual(['Admin']);
  });

  it('rejects grants of unknown roles or users', async () => {
    const roles = new RoleRepository(ds.forTenant('acme'));
    const role = await roles.create({ name: 'r' });
    await expect(roles.grant('00000000-0000-0000-0000-000000000000', role.id)).rejects.toBeInstanceOf(ForeignKeyViolationError);
  });
});
