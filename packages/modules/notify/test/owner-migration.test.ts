import { SchemaMigrator } from '@stellaops/migrator';
import { checkAppRole, createRoleIfMissingSql, ensureAppRole, quoteIdentifier } from '@stellaops/postgres-core';
import { useTestDatabase, withClient } from '@stellaops/test-fixture/vitest';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { APP_ROLE, migrations, WORKER_ROLE } from '../src/index.js';

// The production path: migrations run as an owner role that is neither superuser nor CREATEROLE
// (like stella-db up's stellaops_owner), after the module's roles were created.
const db = useTestDatabase(); // an empty database
const OWNER = 'stellaops_test_owner';
const OWNER_PASSWORD = 'stellaops-test-owner-pw';

const asOwner = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withClient(db.server.urlFor(db.database, { user: OWNER, password: OWNER_PASSWORD }), fn);

describe('migrating as a non-superuser owner without CREATEROLE', () => {
  it('applies every migration; the owner owns the tables and RLS still binds the app and worker roles', async () => {
    await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
    for (const role of [APP_ROLE, WORKER_ROLE]) await ensureAppRole(db.pool, { role });
    await db.pool.query(`grant create on database ${quoteIdentifier(db.database)} to ${quoteIdentifier(OWNER)}`);

    const report = await new SchemaMigrator({ connectionString: db.server.urlFor(db.database, { user: OWNER, password: OWNER_PASSWORD }), ...migrations }).up();
    expect(report.results.map((m) => [m.id, m.status])).toEqual([
      ['V001_ChannelsAndRules', 'applied'],
      ['V002_Deliveries', 'applied'],
    ]);
    const owners = await db.pool.query<{ owner: string }>(`select distinct tableowner as owner from pg_tables where schemaname = 'notify'`);
    expect(owners.rows).toEqual([{ owner: OWNER }]);
    expect(await checkAppRole(db.pool, APP_ROLE)).toEqual([]);
    expect(await checkAppRole(db.pool, WORKER_ROLE)).toEqual([]);
    // FORCE ROW LEVEL SECURITY: even the owner sees nothing without a tenant
    await db.pool.query(`insert into notify.channels (tenant_id, name, kind) values ('acme', 'mail', 'email')`);
    const seen = await asOwner((c) => c.query('select count(*)::int as n from notify.channels'));
    expect(seen.rows[0]?.n).toBe(0);
  });

  it('rolls every migration back and applies them again', async () => {
    await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
    await db.pool.query(`grant create on database ${quoteIdentifier(db.database)} to ${quoteIdentifier(OWNER)}`);
    const migrator = new SchemaMigrator({ connectionString: db.server.urlFor(db.database, { user: OWNER, password: OWNER_PASSWORD }), ...migrations });
    const tables = async () =>
      (await db.pool.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = 'notify' and tablename <> '_migrations' order by 1`)).rows.map((r) => r.t);
    await migrator.up();
    expect(await tables()).toEqual(['channels', 'deliveries', 'rules']);
    const down = await migrator.down({ all: true });
    expect(down.results.every((r) => r.status === 'reverted')).toBe(true);
    expect(await tables()).toEqual([]);
    await migrator.up();
    expect(await tables()).toEqual(['channels', 'deliveries', 'rules']);
    expect((await migrator.verify()).ok).toBe(true);
  });

  it('says which role is missing when the owner may not create it', async () => {
    await ensureAppRole(db.pool, { role: OWNER, password: OWNER_PASSWORD });
    const error = await asOwner((c) => c.query(createRoleIfMissingSql('stellaops_test_never_created'))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '42501', message: `role stellaops_test_never_created does not exist and ${OWNER} may not create it` });
    const exists = await db.pool.query(`select 1 from pg_roles where rolname = 'stellaops_test_never_created'`);
    expect(exists.rowCount).toBe(0);
  });
});
