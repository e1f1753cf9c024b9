// Retiring a tenant key (step 3) and PREPARE TRANSACTION: a prepared transaction holds no virtual transaction id, so
// the retire finds it in pg_prepared_xacts. One that verified the old key before the removal may commit a row under
// it afterwards; the retire waits for it (or names it), and the row moves to the key that remains. Its own server:
// the shared fixture runs with max_prepared_transactions = 0.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createDataSource,
  installTenantKey,
  PoolRegistry,
  retagTenantRows,
  retireTenantKey,
  TenantKey,
  tenantIsolationSql,
  type PostgresDataSource,
} from '../src/index.js';
import { EmbeddedPostgres } from './support/embedded-pg.js';
import { APP_PASSWORD, APP_ROLE, DEDICATED_TENANT_KEY, ensureTestRole, installSecurity, type TestDB } from './support/schema.js';

const OLD = new TenantKey(DEDICATED_TENANT_KEY.tenantKeyId, DEDICATED_TENANT_KEY.tenantKey);
const NEXT = new TenantKey('next', 'the-next-tenant-key-after-a-rotation-0123456789');

let server: EmbeddedPostgres;
let admin: pg.Pool;

beforeAll(async () => {
  server = await new EmbeddedPostgres('pgcore-prepared', { max_prepared_transactions: '4' }).start();
  await ensureTestRole(server.url());
  admin = new pg.Pool({ connectionString: server.url(), max: 2 });
  await installSecurity(admin, { database: 'postgres', key: DEDICATED_TENANT_KEY });
  await admin.query(`create table items (id int primary key, tenant_id text not null, name text not null)`);
  await admin.query(`create table notes (id int primary key, tenant_id text not null, body text not null)`);
  for (const t of ['items', 'notes']) for (const s of tenantIsolationSql({ table: t })) await admin.query(s);
  await admin.query(`grant select, insert, update, delete on items, notes to ${APP_ROLE}`);
});

afterAll(async () => {
  await admin?.end();
  await server?.destroy();
});

beforeEach(async () => {
  for (const gid of (await admin.query('select gid from pg_prepared_xacts')).rows) await admin.query(`rollback prepared '${gid.gid}'`);
  await admin.query('truncate items, notes');
  await admin.query('delete from stellaops_security.tenant_keys');
  await installTenantKey(admin, OLD);
  await admin.query(`insert into items (id, tenant_id, name) values (1, 'a', 'a1')`);
  // step 1 and 2 of a rotation: the new key installed, the rows moved to it
  await installTenantKey(admin, NEXT);
  await retagTenantRows(admin, NEXT.keyId);
});

/** The app role's session for tenant a signing with the old key alone, inside a transaction it then prepares. */
async function prepareOldKeyWrite(gid: string, id: number): Promise<void> {
  const c = new pg.Client(server.url('postgres', APP_ROLE, APP_PASSWORD));
  await c.connect();
  try {
    await c.query('begin');
    await c.query(`select set_config('app.tenant_id', 'a', true), set_config('app.tenant_proof', $1, true)`, [OLD.proofFor('a')]);
    await c.query(`insert into items (id, tenant_id, name) values ($1, 'a', 'prepared under the old key')`, [id]);
    await c.query(`prepare transaction '${gid}'`);
  } finally {
    await c.end();
  }
}

async function idsFor(key: TenantKey): Promise<number[]> {
  const ds: PostgresDataSource<TestDB> = createDataSource<TestDB>(
    { connectionString: server.url('postgres', APP_ROLE, APP_PASSWORD), pool: { max: 1 }, tenantKey: key },
    { registry: new PoolRegistry() },
  );
  try {
    return (await ds.forTenant('a').selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id);
  } finally {
    await ds.close();
  }
}

describe('retiring a tenant key with a prepared transaction open', () => {
  it('waits for a prepared transaction that wrote under the old key, then moves its row', async () => {
    await prepareOldKeyWrite('lagging-1', 8);
    const waits: number[] = [];
    const retire = retireTenantKey(admin, OLD.keyId, { onWait: (n) => waits.push(n) });
    await new Promise((r) => setTimeout(r, 300));
    expect((await admin.query('select key_id from stellaops_security.tenant_keys')).rows).toEqual([{ key_id: NEXT.keyId }]);
    expect(waits.length).toBeGreaterThanOrEqual(1); // still waiting: the prepared transaction is open
    await admin.query(`commit prepared 'lagging-1'`);
    const result = await retire;
    expect(result).toMatchObject({ removed: true, to: NEXT.keyId, waitedFor: 1 });
    expect(result.tables.map((t) => [t.table, t.rows])).toEqual([
      ['public.items', 1],
      ['public.notes', 0],
    ]);
    expect(await idsFor(NEXT)).toEqual([1, 8]);
    expect(await idsFor(OLD)).toEqual([]);
  });

  it('names a prepared transaction still open at the timeout; a second run with the target finishes once it ended', async () => {
    await prepareOldKeyWrite('lagging-2', 9);
    const err = await retireTenantKey(admin, OLD.keyId, { waitTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RETIRE_INCOMPLETE', cause: { code: 'RETIRE_WAIT_TIMEOUT' } });
    expect((err as Error).message).toContain('prepared lagging-2');
    expect((err as Error).message).toMatch(/Fix: run the retire again with to "next"/);
    await admin.query(`commit prepared 'lagging-2'`);
    // its row was committed under the old key, which is gone: nobody reads it until the re-tag
    expect(await idsFor(NEXT)).toEqual([1]);
    expect(await retireTenantKey(admin, OLD.keyId, { to: NEXT.keyId, waitTimeoutMs: 300 })).toMatchObject({
      removed: false,
      to: NEXT.keyId,
      waitedFor: 0,
    });
    expect(await idsFor(NEXT)).toEqual([1, 9]);
  });
});
