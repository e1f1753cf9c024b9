import { describe, expect, it } from 'vitest';
import { useTestDatabase, withClient } from '@stellaops/test-fixture/vitest';
import { appRoleGrantsSql, createRoleIfMissingSql, ensureAppRole } from '../src/index.js';

// Role helpers against a real server: roles are cluster-global, so names are unique to this run.
const db = useTestDatabase();
const suffix = `${process.pid}_${Date.now().toString(36)}`;

describe('createRoleIfMissingSql', () => {
  it('creates a NOLOGIN, non-bypassing role once; running it again (also concurrently) is a no-op', async () => {
    const role = `core_role_${suffix}`;
    await Promise.all([db.pool.query(createRoleIfMissingSql(role)), db.pool.query(createRoleIfMissingSql(role))]);
    await db.pool.query(createRoleIfMissingSql(role));
    const r = await db.pool.query('select rolcanlogin, rolbypassrls, rolsuper from pg_roles where rolname = $1', [role]);
    expect(r.rows).toEqual([{ rolcanlogin: false, rolbypassrls: false, rolsuper: false }]);
    await db.pool.query(`drop role ${role}`);
  });

  it('a migrating role without CREATEROLE gets an error naming the missing role', async () => {
    const migrator = `core_mig_${suffix}`;
    await ensureAppRole(db.pool, { role: migrator, password: 'pw-migrator' });
    // the server got a SCRAM verifier, never the plaintext
    const stored = await db.pool.query<{ p: string }>('select rolpassword as p from pg_authid where rolname = $1', [migrator]);
    expect(stored.rows[0]?.p).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    await ensureAppRole(db.pool, { role: migrator, password: 'other', keepExistingPassword: true });
    expect((await db.pool.query<{ p: string }>('select rolpassword as p from pg_authid where rolname = $1', [migrator])).rows[0]?.p).toBe(
      stored.rows[0]?.p,
    );
    try {
      const err = await withClient(db.server.urlFor(db.database, { user: migrator, password: 'pw-migrator' }), (c) =>
        c.query(createRoleIfMissingSql(`core_missing_${suffix}`)),
      ).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('42501');
      expect((err as Error).message).toBe(`role core_missing_${suffix} does not exist and ${migrator} may not create it`);
    } finally {
      await db.pool.query(`drop role ${migrator}`);
    }
  });

  it('refuses names that could break out of the DO block or the identifier', () => {
    expect(() => createRoleIfMissingSql('a$$b')).toThrow(/must not contain "\$"/);
    expect(() => createRoleIfMissingSql("x'; drop table t; --")).toThrow();
  });
});

describe('appRoleGrantsSql', () => {
  it('grants DML on the schema and nothing on protected tables', async () => {
    const app = `core_app_${suffix}`;
    await ensureAppRole(db.pool, { role: app, password: 'pw-app' });
    try {
      await db.pool.query(
        'create schema m; create table m.things (id int primary key); create table m._migrations (name text primary key)',
      );
      for (const s of appRoleGrantsSql({ appRole: app, schema: 'm', protectTables: ['_migrations'] })) await db.pool.query(s);
      await withClient(db.server.urlFor(db.database, { user: app, password: 'pw-app' }), async (c) => {
        await c.query('insert into m.things values (1)');
        expect((await c.query('select count(*)::int as n from m.things')).rows[0].n).toBe(1);
        await expect(c.query('select * from m._migrations')).rejects.toMatchObject({ code: '42501' });
        await expect(c.query('create table m.evil (x int)')).rejects.toMatchObject({ code: '42501' });
        await expect(c.query('truncate m.things')).rejects.toMatchObject({ code: '42501' });
      });
    } finally {
      await db.pool.query(`drop owned by ${app}; drop role ${app}`);
    }
  });

  it('adds default privileges only when the owner role is named', () => {
    expect(appRoleGrantsSql({ appRole: 'a', schema: 's' }).some((x) => x.startsWith('alter default privileges'))).toBe(false);
    expect(
      appRoleGrantsSql({ appRole: 'a', schema: 's', ownerRole: 'o' }).filter((x) => x.startsWith('alter default privileges')),
    ).toHaveLength(2);
  });
});
