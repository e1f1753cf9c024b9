// The scoped driver side by side with plain Kysely over a plain pg pool: where plain Kysely
// reports a lost commit or recovers from a failed statement, the scoped driver must too.
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDataSource,
  mapDatabaseError,
  PoolRegistry,
  TenantKey,
  type PostgresDataSource,
  type PostgresOptionsInput,
} from '../src/index.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, ensureTestRole, type TestDB } from './support/schema.js';

const db = useTestDatabase({ migrations: coreRlsMigrations, scope: 'test' });
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  await ensureTestRole(db.server.adminConnectionString);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function appUrl(): string {
  return db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD });
}

function open(extra: Partial<PostgresOptionsInput> = {}): PostgresDataSource<TestDB> {
  const ds = createDataSource<TestDB>(
    { connectionString: appUrl(), pool: { max: 1 }, ...db.server.tenantKey, ...extra },
    { registry: new PoolRegistry() },
  );
  cleanups.push(() => ds.close());
  return ds;
}

/**
 * Plain Kysely 0.28 over a plain pg pool, as the same app role. The policies accept
 * `app.tenant_id` only with its proof, so the reference sets both (session-level) itself.
 */
function plainKysely(): Kysely<TestDB> {
  const proof = new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey).proofFor('acme');
  const pool = new pg.Pool({ connectionString: appUrl(), max: 1 });
  // the fixture may drop the test database before this pool ends: an idle client then errors
  pool.on('error', () => undefined);
  pool.on(
    'connect',
    (c) => void c.query(`select set_config('app.tenant_id', 'acme', false), set_config('app.tenant_proof', $1, false)`, [proof]),
  );
  const k = new Kysely<TestDB>({ dialect: new PostgresDialect({ pool }) });
  cleanups.push(() => k.destroy());
  return k;
}

const itemIds = async (): Promise<number[]> =>
  (await db.pool.query<{ id: number }>('select id from items order by id')).rows.map((r) => r.id);

describe('a transaction PostgreSQL rolled back is never reported as committed', () => {
  // A statement fails inside the unit, the code catches it and carries on: the COMMIT comes back as ROLLBACK.
  const swallow = async (trx: Kysely<TestDB>, id: number): Promise<void> => {
    await trx.insertInto('items').values({ id, tenant_id: 'acme', name: 'lost' }).execute();
    await sql`select 1 / 0`.execute(trx).catch(() => undefined);
  };

  it('plain Kysely throws (the reference behaviour)', async () => {
    const k = plainKysely();
    const err = await k
      .transaction()
      .execute((trx) => swallow(trx, 1))
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortedTransactionError');
    expect(await itemIds()).toEqual([]);
  });

  it('withTenant throws TransactionRolledBackError with the swallowed error as cause', async () => {
    const ds = open();
    const err = await ds.withTenant('acme', (trx) => swallow(trx, 1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TRANSACTION_ROLLED_BACK', retryable: false });
    expect((err as Error).message).toMatch(/rolled the transaction back/);
    expect((err as Error).cause).toMatchObject({ sqlState: '22012' });
    expect(await itemIds()).toEqual([]);
    // the connection is usable afterwards
    await ds.withTenant('acme', (trx) => trx.insertInto('items').values({ id: 2, tenant_id: 'acme', name: 'kept' }).execute());
    expect(await itemIds()).toEqual([2]);
  });

  it('forTenant().transaction() and a controlled transaction throw too', async () => {
    const ds = open();
    const t = ds.forTenant('acme');
    await expect(t.transaction().execute((trx) => swallow(trx, 1))).rejects.toMatchObject({ code: 'TRANSACTION_ROLLED_BACK' });
    const trx = await t.startTransaction().execute();
    await swallow(trx, 3);
    await expect(trx.commit().execute()).rejects.toMatchObject({ code: 'TRANSACTION_ROLLED_BACK' });
    expect(trx.isRolledBack).toBe(true);
    await trx.rollback().execute(); // Kysely knows it is over: no-op
    expect(await itemIds()).toEqual([]);
    // the controlled transaction's connection went back to the pool (max 1): the next unit runs
    expect(await t.selectFrom('items').select('id').execute()).toEqual([]);
  });

  it('a savepoint rolled back after the error keeps the rest of the unit (and names like "sp-1" work)', async () => {
    const ds = open();
    const trx = await ds.forTenant('acme').startTransaction().execute();
    await trx.insertInto('items').values({ id: 1, tenant_id: 'acme', name: 'kept' }).execute();
    const sp = await trx.savepoint('sp-1').execute();
    await sql`select 1 / 0`.execute(sp).catch(() => undefined);
    await sp.rollbackToSavepoint('sp-1').execute();
    await trx.commit().execute();
    expect(await itemIds()).toEqual([1]);
  });

  it('batchWithTenant with transaction settings commits or throws, never both', async () => {
    const ds = open();
    const t = ds.forTenant('acme');
    const res = await ds.batchWithTenant('acme', [t.insertInto('items').values({ id: 5, tenant_id: 'acme', name: 'b' })], {
      isolationLevel: 'serializable',
    });
    expect(res[0]?.numAffectedRows).toBe(1n);
    expect(await itemIds()).toEqual([5]);
  });
});

describe('auto-prepared statements never get stuck on 26000', () => {
  it('a statement whose first execution failed while parsing (table missing) runs once the table exists', async () => {
    const ds = open();
    const q = () => sql<{ n: number }>`select count(*)::int as n from later_table`.execute(ds.forTenant('acme'));
    await expect(q()).rejects.toMatchObject({ sqlState: '42P01' });
    await db.pool.query(`create table later_table (id int); grant select on later_table to ${APP_ROLE}`);
    expect((await q()).rows).toEqual([{ n: 0 }]);
    expect((await q()).rows).toEqual([{ n: 0 }]);
    // plain Kysely: same statement, same story
    const k = plainKysely();
    expect((await sql<{ n: number }>`select count(*)::int as n from later_table`.execute(k)).rows).toEqual([{ n: 0 }]);
  });

  it('a statement that timed out during parse (lock held by a migration) runs once the lock is gone', async () => {
    const ds = open({ commandTimeoutSeconds: 1 });
    const locker = await db.pool.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table plain in access exclusive mode');
      const err = await ds.db
        .selectFrom('plain')
        .select('v')
        .where('id', '=', 1)
        .execute()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STATEMENT_TIMEOUT' });
      await locker.query('commit');
    } finally {
      locker.release();
    }
    await db.pool.query(`insert into plain values (1, 'a')`);
    expect(await ds.db.selectFrom('plain').select('v').where('id', '=', 1).execute()).toEqual([{ v: 'a' }]);
  });

  it('a value pg cannot serialise (BigInt inside jsonb) fails alone; the statement keeps working', async () => {
    const ds = open();
    const j = (v: unknown) => sql<{ j: unknown }>`select ${v}::jsonb as j`;
    await ds.withTenant('acme', async (trx) => {
      expect((await j({ n: 1 }).execute(trx)).rows).toEqual([{ j: { n: 1 } }]);
    });
    const err = await ds
      .withTenant('acme', async (trx) => {
        await j({ n: 2 }).execute(trx);
        await j({ n: 3n }).execute(trx);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/BigInt/);
    for (let i = 0; i < 3; i++) {
      await ds.withTenant('acme', async (trx) => {
        await sql`select 1`.execute(trx);
        expect((await j({ n: 4 }).execute(trx)).rows).toEqual([{ j: { n: 4 } }]);
      });
      expect((await j({ n: 5 }).execute(ds.forTenant('acme'))).rows).toEqual([{ j: { n: 5 } }]);
    }
  });

  it('a prepared statement lost on the server is re-prepared transparently outside a transaction, typed inside one', async () => {
    const ds = open(); // pool of 1: the raw client below is the same backend
    const q = (k: Kysely<TestDB>) => k.selectFrom('plain').select('id').execute();
    await q(ds.db);
    await q(ds.forTenant('acme'));
    const deallocate = async () => {
      const raw = await ds.pool.connect();
      await raw.query('deallocate all');
      raw.release();
    };
    await deallocate();
    expect(await q(ds.db)).toEqual([]); // autocommit: retried once, transparently
    await deallocate();
    expect(await ds.withTenant('acme', (trx) => q(trx))).toEqual([]); // first statement of a unit: retried too
    const err = await ds
      .withTenant('acme', async (trx) => {
        await sql`select 1`.execute(trx);
        await sql`deallocate all`.execute(trx);
        return q(trx);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PREPARED_STATEMENT_LOST', retryable: true });
    expect(await q(ds.forTenant('acme'))).toEqual([]);
  });
});

describe('other driver behaviour, decided and documented', () => {
  it('more than 65535 bind parameters: a typed, non-retryable error naming the limit and the fix', async () => {
    const ds = open();
    const ids = Array.from({ length: 70_000 }, (_, i) => i);
    const err = await ds.db
      .selectFrom('plain')
      .select('id')
      .where('id', 'in', ids)
      .execute()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOO_MANY_PARAMETERS', retryable: false });
    expect((err as Error).message).toMatch(/65535.*batches/);
    // the server's own 08P01 is not a lost connection either
    const mapped = mapDatabaseError(
      Object.assign(new Error('bind message supplies 4464 parameters, but prepared statement "" requires 70000'), { code: '08P01' }),
    );
    expect(mapped).toMatchObject({ code: 'TOO_MANY_PARAMETERS', retryable: false });
    expect(await ds.db.selectFrom('plain').select('id').execute()).toEqual([]);
  });

  it('.stream() works on forTenant, withTenant and ds.db', async () => {
    await db.pool.query(
      `insert into items (id, tenant_id, name) select g, case when g % 2 = 0 then 'acme' else 'globex' end, 'n' from generate_series(1, 250) g`,
    );
    await db.pool.query(`insert into plain select g, 'v' from generate_series(1, 30) g`);
    const ds = open();
    const seen: number[] = [];
    for await (const r of ds.forTenant('acme').selectFrom('items').select(['id', 'tenant_id']).orderBy('id').stream(50)) {
      expect(r.tenant_id).toBe('acme');
      seen.push(r.id);
    }
    expect(seen).toHaveLength(125);
    const inUnit = await ds.withTenant('globex', async (trx) => {
      let n = 0;
      for await (const r of trx.selectFrom('items').select('tenant_id').stream()) n += r.tenant_id === 'globex' ? 1 : 1000;
      return n;
    });
    expect(inUnit).toBe(125);
    let plain = 0;
    for await (const _ of ds.db.selectFrom('plain').select('id').stream(7)) plain++;
    expect(plain).toBe(30);
  });

  it('multi-statement raw SQL is refused with a clear error (one statement per query)', async () => {
    const ds = open();
    const err = await sql
      .raw('select 1; select 2')
      .execute(ds.db)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_OPERATION' });
    expect((err as Error).message).toMatch(/one statement per query/);
    expect((await sql.raw<{ x: number }>('select 1 as x;').execute(ds.db)).rows).toEqual([{ x: 1 }]);
  });

  it('the guard lexes SQL: string tricks are caught, literals that mention app.tenant_id pass', async () => {
    await db.pool.query(`insert into items (id, tenant_id, name) values (1, 'acme', 'a'), (2, 'globex', 'g')`);
    const ds = open();
    const a = ds.forTenant('acme');
    for (const raw of [
      `select '--', set_config('app.tenant_id', 'globex', true), * from items`,
      `select U&"set\\005fconfig"('app.tenant_id', 'globex', true)`,
      `select set_config(U&'app.tenant\\005fid', 'globex', true)`,
      `select set_config(E'app.tenant\\x5fid', 'globex', true)`,
      `select set_config($q$app.tenant_id$q$, 'globex', true)`,
      `/* /* nested */ ' */ select set_config('app.tenant_id', 'globex', true)`,
    ]) {
      await expect(sql.raw(raw).execute(a), raw).rejects.toMatchObject({ code: 'UNSUPPORTED_OPERATION' });
    }
    const ok = await sql<{ s: string }>`select 'app.tenant_id' as s, current_setting('app.tenant_id') as t`.execute(a);
    expect(ok.rows).toEqual([{ s: 'app.tenant_id', t: 'acme' }]);
    expect(await a.selectFrom('items').select('tenant_id').execute()).toEqual([{ tenant_id: 'acme' }]);
  });
});

describe('concurrent statements on one transaction', () => {
  it('send BEGIN and the tenant once, and all run in the unit', async () => {
    const ds = open();
    const out = await ds.withTenant('acme', (trx) =>
      Promise.all(
        [1, 2, 3].map((i) =>
          sql<{ t: string; x: string }>`select current_setting('app.tenant_id') as t, txid_current()::text as x, ${i}::int as i`.execute(
            trx,
          ),
        ),
      ),
    );
    const rows = out.map((r) => r.rows[0]!);
    expect(new Set(rows.map((r) => r.t))).toEqual(new Set(['acme']));
    expect(new Set(rows.map((r) => r.x)).size).toBe(1);
  });
});

describe('streaming without a cursor', () => {
  it('fetches chunk by chunk, stops early cleanly, reports errors mid-stream, and the connection stays usable', async () => {
    await db.pool.query(`insert into plain select g, 'v' from generate_series(1, 300) g`);
    const ds = open(); // one connection for everything below
    const q = (k: Kysely<TestDB>) => k.selectFrom('plain').select('id').orderBy('id');
    // early stop after the first chunk
    const firsts: number[] = [];
    for await (const r of q(ds.db).stream(10)) {
      firsts.push(r.id);
      if (firsts.length === 10) break;
    }
    expect(firsts).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect((await q(ds.db).execute()).length).toBe(300);
    // an error after some chunks were delivered
    const got: number[] = [];
    const err2 = await (async () => {
      for await (const r of ds.db
        .selectFrom(sql<{ s: number }>`generate_series(1, 300)`.as('s'))
        .select(sql<number>`10 / (300 - s)`.as('x'))
        .stream(25))
        got.push(r.x);
    })().catch((e: unknown) => e);
    expect(err2).toMatchObject({ sqlState: '22012' });
    expect(got.length).toBeGreaterThanOrEqual(25);
    expect((await q(ds.forTenant('acme')).execute()).length).toBe(300);
    // inside a unit: the stream and the statements after it share the transaction
    const n = await ds.withTenant('acme', async (trx) => {
      let count = 0;
      for await (const r of q(trx).stream(64)) count += r.id > 0 ? 1 : 0;
      const t = await sql<{ t: string }>`select current_setting('app.tenant_id') as t`.execute(trx);
      return `${count}:${t.rows[0]?.t}`;
    });
    expect(n).toBe('300:acme');
  });
});
