// Row tenant tags (security migration V002): each tenant row carries sha256(<its tenant's proof>), the read policies
// compare it with the session's proof (no PL/pgSQL call per statement), writes still verify the HMAC. Tagging by
// owners (trigger), re-tagging when a row changes tenant, key rotation with a previous key and retagTenantRows.
import { createHash } from 'node:crypto';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkAppRole,
  createDataSource,
  DatabaseError,
  installTenantKey,
  PoolRegistry,
  removeTenantKey,
  retagTenantRows,
  retireTenantKey,
  TenantKey,
  type PostgresDataSource,
  type RetagBatchProgress,
  type RetagProgress,
  tenantIsolationSql,
} from '../src/index.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, OWNER_PASSWORD, tableOwner, type TestDB } from './support/schema.js';

const db = useTestDatabase({ migrations: coreRlsMigrations });
const opened: Array<PostgresDataSource<TestDB>> = [];
const NEXT = new TenantKey('next', 'the-next-tenant-key-after-a-rotation-0123456789');

const fixtureKey = (): TenantKey => new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);
const tagOf = (key: TenantKey, tenant: string): Buffer => createHash('sha256').update(key.proofFor(tenant), 'utf8').digest();

function open(keys: { tenantKey: TenantKey; previousTenantKey?: TenantKey }): PostgresDataSource<TestDB> {
  const ds = createDataSource<TestDB>(
    { connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }), pool: { max: 2 }, ...keys },
    { registry: new PoolRegistry() },
  );
  opened.push(ds);
  return ds;
}

const ids = async (ds: PostgresDataSource<TestDB>, tenant: string): Promise<number[]> =>
  (await ds.forTenant(tenant).selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id);

beforeEach(async () => {
  await db.pool.query(`insert into items (id, tenant_id, name) values (1, 'a', 'a1'), (2, 'a', 'a2'), (11, 'b', 'b1')`);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ds) => ds.close()));
});

describe('row tenant tags', () => {
  it('an owner insert without a tag is tagged by the trigger with the tenant proof hash; the tenant reads it', async () => {
    const rows = await db.pool.query('select id, tenant_tag from items order by id');
    expect(rows.rows.map((r) => [r.id, (r.tenant_tag as Buffer).equals(tagOf(fixtureKey(), r.id < 10 ? 'a' : 'b'))])).toEqual([
      [1, true],
      [2, true],
      [11, true],
    ]);
    const ds = open({ tenantKey: fixtureKey() });
    expect(await ids(ds, 'a')).toEqual([1, 2]);
    expect(await ids(ds, 'b')).toEqual([11]);
  });

  it("a unit's write gets its session's tag; another tenant's tag or tenant cannot be written", async () => {
    const ds = open({ tenantKey: fixtureKey() });
    await ds.forTenant('a').insertInto('items').values({ id: 3, tenant_id: 'a', name: 'a3' }).execute();
    const tag = (await db.pool.query('select tenant_tag from items where id = 3')).rows[0]?.tenant_tag as Buffer;
    expect(tag.equals(tagOf(fixtureKey(), 'a'))).toBe(true);
    // b's tag is not a secret (sha256 of b's proof): knowing it must not let tenant a write (or read) as b
    const bTag = `\\x${tagOf(fixtureKey(), 'b').toString('hex')}`;
    for (const text of [
      `insert into items (id, tenant_id, name, tenant_tag) values (4, 'a', 'x', '${bTag}')`,
      `insert into items (id, tenant_id, name, tenant_tag) values (4, 'b', 'x', '${bTag}')`,
      `insert into items (id, tenant_id, name) values (4, 'b', 'x')`,
    ]) {
      const err = await sql
        .raw(text)
        .execute(ds.forTenant('a'))
        .catch((e: unknown) => e);
      expect(err, text).toBeInstanceOf(DatabaseError);
      expect((err as DatabaseError).sqlState, text).toBe('42501');
    }
    const moved = await sql
      .raw(`update items set tenant_tag = '${bTag}' where id = 1`)
      .execute(ds.forTenant('a'))
      .catch((e: unknown) => e);
    expect((moved as DatabaseError).sqlState).toBe('42501');
    expect(await ids(ds, 'b')).toEqual([11]);
  });

  it("rows written for a tenant other than the session's, or with an empty proof, get their own tenant's tag", async () => {
    const c = await db.pool.connect();
    try {
      // a connection a tenant session left '' on (transaction-local settings read back as '' afterwards)
      await c.query(`begin; select set_config('app.tenant_proof', 'x', true); commit`);
      await c.query(`insert into items (id, tenant_id, name) values (20, 'b', 'after a session')`);
      // a session bound to a (a role whose own policy lets it write for other tenants, like a worker) writing b's row
      await c.query(`select set_config('app.tenant_id', 'a', false), set_config('app.tenant_proof', $1, false)`, [
        fixtureKey().proofFor('a'),
      ]);
      await c.query(`insert into items (id, tenant_id, name) values (21, 'b', 'for another tenant')`);
      await c.query('reset all');
    } finally {
      c.release();
    }
    const ds = open({ tenantKey: fixtureKey() });
    expect(await ids(ds, 'b')).toEqual([11, 20, 21]);
    expect(await ids(ds, 'a')).toEqual([1, 2]);
  });

  it('a uuid tenant column: a unit writes and reads its rows, an owner insert is tagged for that tenant', async () => {
    const tenant = '6f1c0f7e-3c1a-4f7e-9b1a-2f6d3c8e9a10';
    await db.pool.query('create table things (tenant_id uuid not null, id int not null, primary key (tenant_id, id))');
    for (const s of tenantIsolationSql({ table: 'things', columnType: 'uuid' })) await db.pool.query(s);
    await db.pool.query(`grant select, insert on things to ${APP_ROLE}`);
    await db.pool.query('insert into things (tenant_id, id) values ($1, 1)', [tenant]);
    const ds = open({ tenantKey: fixtureKey() });
    await sql`insert into things (tenant_id, id) values (${tenant}::uuid, 2)`.execute(ds.forTenant(tenant));
    const seen = await sql<{ id: number }>`select id from things order by id`.execute(ds.forTenant(tenant));
    expect(seen.rows.map((r) => r.id)).toEqual([1, 2]);
    // an upper-case id is the same uuid: its unit's write keeps the session's tag (the fill trigger compares as uuid)
    const upper = open({ tenantKey: fixtureKey() }).forTenant(tenant.toUpperCase());
    await sql`insert into things (tenant_id, id) values (${tenant}::uuid, 3)`.execute(upper);
    expect((await sql<{ id: number }>`select id from things order by id`.execute(upper)).rows.map((r) => r.id)).toEqual([3]);
    expect((await sql<{ id: number }>`select id from things`.execute(ds.forTenant('0a1b2c3d-0000-4000-8000-000000000001'))).rows).toEqual(
      [],
    );
  });

  it('an owner moving a row to another tenant re-tags it (the old tenant loses it, the new one reads it)', async () => {
    await db.pool.query(`update items set tenant_id = 'b' where id = 2`);
    const ds = open({ tenantKey: fixtureKey() });
    expect(await ids(ds, 'a')).toEqual([1]);
    expect(await ids(ds, 'b')).toEqual([2, 11]);
  });

  it('tagging without the named key installed fails with the fix, and leaves the table as it was', async () => {
    const err = await db.pool.query(`select stellaops_security.tenant_tag('a', 'nosuchkey')`).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('P0002');
    expect(String((err as Error).message)).toMatch(/no tenant key "nosuchkey" is installed/);
    expect(String((err as { hint?: string }).hint)).toMatch(/installTenantKey|stella-db up/);
    expect(
      await db.pool.query(`select has_function_privilege('${APP_ROLE}', 'stellaops_security.tenant_tag(text, text)', 'EXECUTE') as x`),
    ).toMatchObject({
      rows: [{ x: false }],
    });
  });

  it('key rotation: previousTenantKey keeps untagged-yet rows readable, retagTenantRows moves them, the old key then opens nothing', async () => {
    await db.pool.query(`insert into items (id, tenant_id, name) values (12, 'b', 'b2')`); // tagged with the old key
    await installTenantKey(db.pool, NEXT);
    const during = open({ tenantKey: NEXT, previousTenantKey: fixtureKey() });
    const nextOnly = open({ tenantKey: NEXT });
    const oldOnly = open({ tenantKey: fixtureKey() });
    // step 1: services sign with NEXT and still send the old proof; rows are still tagged with the old key
    expect(await ids(during, 'a')).toEqual([1, 2]);
    expect(await ids(nextOnly, 'a')).toEqual([]);
    await during.forTenant('a').insertInto('items').values({ id: 5, tenant_id: 'a', name: 'written during the rotation' }).execute();
    expect(await ids(nextOnly, 'a')).toEqual([5]); // written with the current key
    expect(await ids(nextOnly, 'b')).toEqual([]); // and never another tenant's rows
    // a row still tagged with the old key can be updated; the rotation trigger moves it to the current key
    await during.forTenant('a').updateTable('items').set({ name: 'updated during the rotation' }).where('id', '=', 2).execute();
    expect(await ids(nextOnly, 'a')).toEqual([2, 5]);
    await during
      .forTenant('a')
      .insertInto('items')
      .values({ id: 1, tenant_id: 'a', name: 'upserted during the rotation' })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: 'upserted during the rotation' }))
      .execute();
    expect(await ids(nextOnly, 'a')).toEqual([1, 2, 5]);
    const names = await db.pool.query(`select id, name from items where id in (1, 2) order by id`);
    expect(names.rows).toEqual([
      { id: 1, name: 'upserted during the rotation' },
      { id: 2, name: 'updated during the rotation' },
    ]);
    // and deleted as usual
    expect(await ids(during, 'b')).toEqual([11, 12]);
    await during.forTenant('b').deleteFrom('items').where('id', '=', 12).execute();
    expect(await ids(during, 'b')).toEqual([11]);
    // step 2: re-tag (idempotent), one transaction per table, with progress
    const client = new pg.Client(db.server.urlFor(db.database));
    await client.connect();
    try {
      const progress: RetagProgress[] = [];
      const result = await retagTenantRows(client, NEXT.keyId, { onProgress: (p) => progress.push(p) });
      expect(result).toEqual(progress);
      expect(result).toEqual([
        { table: 'public.items', rows: 1, done: 1, total: 2 },
        { table: 'public.notes', rows: 0, done: 2, total: 2 },
      ]);
      expect((await retagTenantRows(client, NEXT.keyId)).map((p) => p.rows)).toEqual([0, 0]);
      await expect(retagTenantRows(client, 'nosuchkey')).rejects.toThrow(/not installed\. Fix: installTenantKey/);
      // FORCE is back on every table
      const forced = await client.query(`select relname, relforcerowsecurity from pg_class where relname in ('items', 'notes') order by 1`);
      expect(forced.rows).toEqual([
        { relname: 'items', relforcerowsecurity: true },
        { relname: 'notes', relforcerowsecurity: true },
      ]);
    } finally {
      await client.end();
    }
    // step 3: the new key alone reads everything, the old key nothing, even before it is removed
    expect(await ids(nextOnly, 'a')).toEqual([1, 2, 5]);
    expect(await ids(nextOnly, 'b')).toEqual([11]);
    expect(await ids(oldOnly, 'a')).toEqual([]);
    await removeTenantKey(db.pool, NEXT.keyId);
  });

  it('re-tagging runs in page batches, each its own short transaction, then one sweep; a busy table lock is waited out or named', async () => {
    // about 3000 rows of ~500 bytes: some 200 pages, tagged with the fixture key by the fill trigger
    await db.pool.query(
      `insert into items (id, tenant_id, name) select 1000 + g, 't' || (g % 7), repeat('x', 500) from generate_series(1, 3000) g`,
    );
    await installTenantKey(db.pool, NEXT);
    // as the tables' owner (not a superuser): subject to FORCE, so each batch lifts it under the table lock
    await tableOwner(db.pool, 'retag_owner');
    const owner = new pg.Client(db.server.urlFor(db.database, { user: 'retag_owner', password: OWNER_PASSWORD }));
    const blocker = new pg.Client(db.server.urlFor(db.database));
    await Promise.all([owner.connect(), blocker.connect()]);
    try {
      // a long transaction holds a lock on items: the batch never queues behind it for longer than lockTimeoutMs
      await blocker.query('begin');
      await blocker.query('select count(*) from items');
      const busy = await retagTenantRows(owner, NEXT.keyId, { lockTimeoutMs: 50, lockAttempts: 2 }).catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: 'RETAG_LOCK_TIMEOUT' });
      expect((busy as Error).message).toMatch(/could not lock public\.items .* end the long transaction/);
      // nothing half-done: FORCE is still on and no row moved
      const state = await owner.query(`select relforcerowsecurity as forced from pg_class where oid = 'items'::regclass`);
      expect(state.rows).toEqual([{ forced: true }]);
      expect(
        (
          await db.pool.query('select count(*)::int as n from items where tenant_tag = stellaops_security.tenant_tag(tenant_id, $1)', [
            NEXT.keyId,
          ])
        ).rows,
      ).toEqual([{ n: 0 }]);

      // the blocker ends while the batch backs off: the re-tag goes through
      const batches: RetagBatchProgress[] = [];
      const run = retagTenantRows(owner, NEXT.keyId, {
        batchPages: 50,
        lockTimeoutMs: 100,
        lockAttempts: 50,
        onBatch: (b) => batches.push(b),
      });
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('commit');
      const result = await run;
      expect(result.map((p) => [p.table, p.rows])).toEqual([
        ['public.items', 3003],
        ['public.notes', 0],
      ]);
      const itemBatches = batches.filter((b) => b.table === 'public.items');
      expect(itemBatches[0]!.pages).toBeGreaterThan(150);
      // the pass re-tags batch by batch over the pages the table had, then one sweep of the whole table (grown by
      // the new row versions) finds nothing left
      const pass1 = itemBatches.filter((b) => b.phase === 'batch');
      const sweep = itemBatches.filter((b) => b.phase === 'sweep');
      expect(pass1.map((b) => b.pagesDone)).toEqual(
        Array.from({ length: Math.ceil(pass1[0]!.pages / 50) }, (_, i) => Math.min((i + 1) * 50, pass1[0]!.pages)),
      );
      expect(pass1.at(-1)!.rows).toBe(3003);
      expect(sweep).toHaveLength(1);
      expect(sweep[0]!.pages).toBeGreaterThan(pass1[0]!.pages);
      expect(sweep[0]).toMatchObject({ pagesDone: sweep[0]!.pages, rows: 3003 });
      expect(
        (
          await db.pool.query('select count(*)::int as n from items where tenant_tag <> stellaops_security.tenant_tag(tenant_id, $1)', [
            NEXT.keyId,
          ])
        ).rows,
      ).toEqual([{ n: 0 }]);
      await expect(retagTenantRows(owner, NEXT.keyId, { batchPages: 0 })).rejects.toThrow(/batchPages must be a positive integer/);
    } finally {
      await blocker.query('rollback').catch(() => undefined);
      await Promise.all([owner.end(), blocker.end()]);
      await removeTenantKey(db.pool, NEXT.keyId);
    }
  });

  it('as a superuser (bypasses row security) the re-tag lifts no FORCE and never waits for a lock: a reader holding the table lock does not stop it; rows locked by others are skipped, swept again once free, or named', async () => {
    await db.pool.query(
      `insert into items (id, tenant_id, name) select 1000 + g, 't' || (g % 7), repeat('x', 500) from generate_series(1, 1000) g`,
    );
    await installTenantKey(db.pool, NEXT);
    const admin = new pg.Client(db.server.urlFor(db.database));
    const blocker = new pg.Client(db.server.urlFor(db.database));
    await Promise.all([admin.connect(), blocker.connect()]);
    const notOn = async (keyId: string): Promise<number> =>
      Number(
        (
          await db.pool.query('select count(*)::int as n from items where tenant_tag <> stellaops_security.tenant_tag(tenant_id, $1)', [
            keyId,
          ])
        ).rows[0].n,
      );
    try {
      expect((await admin.query('select rolsuper from pg_roles where rolname = current_user')).rows).toEqual([{ rolsuper: true }]);
      // a long transaction reads items (ACCESS SHARE): the owner's batch would wait for it (its ALTER TABLE), this
      // one goes through with a single try of 50 ms
      await blocker.query('begin');
      await blocker.query('select count(*) from items');
      const result = await retagTenantRows(admin, NEXT.keyId, { batchPages: 20, lockTimeoutMs: 50, lockAttempts: 1 });
      expect(result.map((p) => [p.table, p.rows])).toEqual([
        ['public.items', 1003],
        ['public.notes', 0],
      ]);
      expect(await notOn(NEXT.keyId)).toBe(0);
      await blocker.query('commit');

      // a transaction holds a row lock: the batches and sweeps skip that row (never waiting on it, so never in a
      // deadlock with it); after lockAttempts sweeps the re-tag names it, every other row moved
      await retagTenantRows(admin, fixtureKey().keyId);
      await blocker.query('begin');
      await blocker.query('select 1 from items where id = 1 for update');
      const busy = await retagTenantRows(admin, NEXT.keyId, { lockTimeoutMs: 50, lockAttempts: 2 }).catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: 'RETAG_LOCK_TIMEOUT' });
      expect((busy as Error).message).toMatch(
        /could not re-tag 1 row\(s\) of public\.items: 2 sweeps found them locked .* Fix: end the long transaction/,
      );
      expect(await notOn(NEXT.keyId)).toBe(1);
      // the lock ends while the sweeps back off: the re-tag finishes
      const batches: RetagBatchProgress[] = [];
      const run = retagTenantRows(admin, NEXT.keyId, { lockTimeoutMs: 100, lockAttempts: 50, onBatch: (b) => batches.push(b) });
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('commit');
      expect((await run).map((p) => [p.table, p.rows])).toEqual([
        ['public.items', 1],
        ['public.notes', 0],
      ]);
      expect(batches.filter((b) => b.table === 'public.items' && b.phase === 'sweep')).toHaveLength(1);
      expect(await notOn(NEXT.keyId)).toBe(0);
      const state = await admin.query(`select relforcerowsecurity as forced from pg_class where oid = 'items'::regclass`);
      expect(state.rows).toEqual([{ forced: true }]);
    } finally {
      await blocker.query('rollback').catch(() => undefined);
      await Promise.all([admin.end(), blocker.end()]);
    }
  });

  it('retiring the old key (step 3) refuses to leave no key, then removes it, waits for the transactions open at the removal and moves the rows a lagging service wrote under it', async () => {
    const owner = new pg.Client(db.server.urlFor(db.database));
    const lagging = new pg.Client(db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }));
    await Promise.all([owner.connect(), lagging.connect()]);
    const old = fixtureKey();
    const keys = async (): Promise<string[]> =>
      (await owner.query('select key_id from stellaops_security.tenant_keys order by key_id')).rows.map((r) => String(r.key_id));
    try {
      // the only key: refused, nothing changed
      await expect(retireTenantKey(owner, old.keyId)).rejects.toMatchObject({ code: 'TENANT_KEY_LAST' });
      await expect(retireTenantKey(owner, old.keyId)).rejects.toThrow(
        /only key installed.*Nothing was changed\. Fix: install the successor/,
      );
      expect(await keys()).toEqual([old.keyId]);

      await installTenantKey(db.pool, NEXT);
      // refused, nothing changed: a target that is not installed or is the key itself, a bad option, the newest key
      // (the services sign with it) without an explicit target, a key id that is not installed (a typo) without one
      await expect(retireTenantKey(owner, old.keyId, { to: 'nosuchkey' })).rejects.toMatchObject({ code: 'TENANT_KEY_NOT_INSTALLED' });
      await expect(retireTenantKey(owner, old.keyId, { to: old.keyId })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(retireTenantKey(owner, old.keyId, { batchPages: 0 })).rejects.toThrow(/batchPages must be a positive integer/);
      await expect(retireTenantKey(owner, NEXT.keyId)).rejects.toMatchObject({ code: 'TENANT_KEY_NEWEST' });
      await expect(retireTenantKey(owner, NEXT.keyId)).rejects.toThrow(/newest key installed.*retire the older key/);
      await expect(retireTenantKey(owner, 'typo')).rejects.toThrow(/"typo" is not installed \(installed: .*\)\. Nothing was changed/);
      expect(await keys()).toEqual([NEXT.keyId, old.keyId].sort());
      // two retires at once (each key, the second backing out of the rotation): the key table lock lets one through
      const other = new pg.Client(db.server.urlFor(db.database));
      await other.connect();
      try {
        const both = await Promise.allSettled([
          retireTenantKey(owner, old.keyId, { waitTimeoutMs: 5000 }),
          retireTenantKey(other, NEXT.keyId, { to: old.keyId, waitTimeoutMs: 5000 }),
        ]);
        expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        // the loser finds its target gone (or its key the last one), whichever ran first
        const loser = both.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(['TENANT_KEY_NOT_INSTALLED', 'TENANT_KEY_LAST']).toContain((loser?.reason as { code?: string }).code);
        expect(await keys()).toHaveLength(1);
      } finally {
        await other.end();
      }
      // back to both keys, rows on the old one, for the rotation below
      await db.pool.query('delete from stellaops_security.tenant_keys');
      await installTenantKey(db.pool, old);
      await installTenantKey(db.pool, NEXT);
      await retagTenantRows(owner, old.keyId);

      // step 2 ran; then a service that still signs with the old key alone writes a row behind it
      expect((await retagTenantRows(owner, NEXT.keyId)).map((p) => p.rows)).toEqual([3, 0]);
      const oldOnly = open({ tenantKey: old });
      await oldOnly.forTenant('a').insertInto('items').values({ id: 7, tenant_id: 'a', name: 'lagging, before the retire' }).execute();
      // and one of its transactions is open when the key is removed, with a snapshot that still has the key
      await lagging.query('begin isolation level repeatable read');
      await lagging.query(`select set_config('app.tenant_id', 'a', true), set_config('app.tenant_proof', $1, true)`, [old.proofFor('a')]);
      const waits: number[] = [];
      const retire = retireTenantKey(owner, old.keyId, { onWait: (n) => waits.push(n) });
      await new Promise((r) => setTimeout(r, 300));
      expect(await keys()).toEqual([NEXT.keyId]); // removed: the waiting has begun
      await lagging.query(`insert into items (id, tenant_id, name) values (8, 'a', 'lagging, racing the retire')`);
      await lagging.query('commit');
      const result = await retire;
      expect(result).toMatchObject({ removed: true, to: NEXT.keyId });
      expect(result.waitedFor).toBeGreaterThanOrEqual(1);
      expect(waits.length).toBeGreaterThanOrEqual(1);
      expect(result.tables.map((t) => [t.table, t.rows])).toEqual([
        ['public.items', 2],
        ['public.notes', 0],
      ]);
      // every row now carries its tenant's tag under the key that remains; the new key reads them all
      const stale = await db.pool.query(
        'select count(*)::int as n from items where tenant_tag <> stellaops_security.tenant_tag(tenant_id, $1)',
        [NEXT.keyId],
      );
      expect(stale.rows).toEqual([{ n: 0 }]);
      expect(await ids(open({ tenantKey: NEXT }), 'a')).toEqual([1, 2, 7, 8]);
      // the lagging service now fails closed: it reads nothing and cannot write
      expect(await ids(oldOnly, 'a')).toEqual([]);
      await expect(
        oldOnly.forTenant('a').insertInto('items').values({ id: 9, tenant_id: 'a', name: 'after the retire' }).execute(),
      ).rejects.toMatchObject({ sqlState: '42501' });

      // a transaction open in another database is not waited for; one in this database that stays open is named,
      // and the key stays removed; a second run with the target finishes
      const elsewhere = new pg.Client(db.server.urlFor('postgres'));
      await elsewhere.connect();
      try {
        await elsewhere.query('begin');
        await elsewhere.query('select 1');
        await installTenantKey(db.pool, old);
        // (re-installed, the old key is the newest now: name the target)
        expect(await retireTenantKey(owner, old.keyId, { to: NEXT.keyId, waitTimeoutMs: 0 })).toMatchObject({
          removed: true,
          waitedFor: 0,
        });
      } finally {
        await elsewhere.query('rollback').catch(() => undefined);
        await elsewhere.end();
      }
      await installTenantKey(db.pool, old);
      await lagging.query('begin');
      await lagging.query('select 1');
      const pid = (await lagging.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const timedOut = await retireTenantKey(owner, old.keyId, { to: NEXT.keyId, waitTimeoutMs: 200 }).catch((e: unknown) => e);
      expect(timedOut).toMatchObject({ code: 'RETIRE_INCOMPLETE', cause: { code: 'RETIRE_WAIT_TIMEOUT' } });
      expect((timedOut as Error).message).toContain(`(pid ${pid})`);
      expect((timedOut as Error).message).toMatch(/is removed, .* Fix: run the retire again with to "next"/);
      expect(await keys()).toEqual([NEXT.keyId]);
      await lagging.query('rollback');
      await expect(retireTenantKey(owner, old.keyId)).rejects.toMatchObject({ code: 'TENANT_KEY_NOT_INSTALLED' });
      expect(await retireTenantKey(owner, old.keyId, { to: NEXT.keyId, waitTimeoutMs: 200 })).toMatchObject({
        removed: false,
        to: NEXT.keyId,
      });
    } finally {
      await lagging.query('rollback').catch(() => undefined);
      await Promise.all([owner.end(), lagging.end()]);
    }
  });

  it('reads need no privilege on the tag functions: the policies carry the session tag expression itself', async () => {
    await db.pool.query(
      'revoke execute on function stellaops_security.session_tag(), stellaops_security.previous_session_tag() from public',
    );
    expect(
      await db.pool.query(`select has_function_privilege('${APP_ROLE}', 'stellaops_security.session_tag()', 'EXECUTE') as x`),
    ).toMatchObject({
      rows: [{ x: false }],
    });
    expect((await checkAppRole(db.pool, APP_ROLE)).filter((p) => p.includes('session_tag'))).toEqual([]);
    const ds = open({ tenantKey: fixtureKey() });
    expect(await ids(ds, 'a')).toEqual([1, 2]);
    await ds.forTenant('a').insertInto('items').values({ id: 6, tenant_id: 'a', name: 'a6' }).execute();
    expect(await ids(ds, 'a')).toEqual([1, 2, 6]);
  });

  it('options: a string previous key needs its id and a current key, and is never printed', async () => {
    const base = { connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }) };
    const secret = 'a-previous-tenant-key-that-must-not-leak-0123';
    expect(() =>
      createDataSource({ ...base, tenantKey: fixtureKey(), previousTenantKey: secret }, { registry: new PoolRegistry() }),
    ).toThrow(/PreviousTenantKeyId: a previous tenant key needs its id/);
    expect(() =>
      createDataSource({ ...base, previousTenantKey: secret, previousTenantKeyId: 'old' }, { registry: new PoolRegistry() }),
    ).toThrow(/only used next to the current one/);
    const ds = createDataSource<TestDB>(
      { ...base, tenantKey: fixtureKey(), previousTenantKey: secret, previousTenantKeyId: 'old' },
      { registry: new PoolRegistry() },
    );
    opened.push(ds);
    expect(ds.options.previousTenantKey?.keyId).toBe('old');
    expect(JSON.stringify(ds.options)).not.toContain(secret);
  });
});
