import { CamelCasePlugin, sql } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDataSource, PoolRegistry, type PostgresOptionsInput } from '../src/index.js';
import type { TestDB } from './support/schema.js';
import { useAppDatabase } from './support/app-database.js';

const { db, opened, appUrl } = useAppDatabase();

/** A data source with a pool of one, the pg client it opened, and a count of the Describe messages it sent. */
function open(extra: Partial<PostgresOptionsInput> = {}, camel = false) {
  const ds = createDataSource<TestDB>(
    { connectionString: appUrl(), pool: { max: 1 }, ...db.server.tenantKey, ...extra },
    { registry: new PoolRegistry(), ...(camel ? { configure: (b) => b.addPlugin(new CamelCasePlugin()) } : {}) },
  );
  opened.push(ds);
  const box: { client?: pg.PoolClient; describes: number } = { describes: 0 };
  ds.pool.on('connect', (client) => {
    box.client = client;
    const connection = (client as unknown as { connection: { describe: (...a: unknown[]) => unknown } }).connection;
    const describe = connection.describe.bind(connection);
    connection.describe = (...a: unknown[]) => {
      box.describes++;
      return describe(...a);
    };
  });
  return { ds, box };
}

/** Runs `fn` and returns how many Describe messages the data source's connection sent meanwhile. */
const countDescribes =
  (box: { describes: number }) =>
  async (fn: () => Promise<unknown>): Promise<number> => {
    const before = box.describes;
    await fn();
    return box.describes - before;
  };

async function seed(): Promise<void> {
  await db.pool.query(`insert into items (id, tenant_id, name) values (1, 'acme', 'a1'), (2, 'acme', 'a2'), (3, 'globex', 'g1')`);
}

describe('row description reuse', () => {
  it('describe a statement once per connection, then reuse its row description (rows, zero rows, no rows)', async () => {
    await seed();
    const { ds, box } = open();
    const describes = countDescribes(box);
    const acme = ds.forTenant('acme');
    const typed = () =>
      sql<{
        id: number;
        big: string;
        at: Date;
        doc: unknown;
        name: string;
      }>`select id, id::int8 * 10 as big, timestamptz '2026-01-02 03:04:05+00' as at, jsonb_build_object('n', id) as doc, name from items where id <= ${2} order by id`.execute(
        acme,
      );
    const none = () => acme.selectFrom('items').select(['id', 'name']).where('id', '=', 999).execute();
    const insert = (id: number) =>
      acme
        .insertInto('items')
        .values({ id, tenant_id: 'acme', name: `n${id}` })
        .execute();
    let first: unknown[] = [];
    expect(
      await describes(async () => {
        first = [(await typed()).rows, await none(), await insert(10)];
      }),
    ).toBe(3);
    const expected = [
      { id: 1, big: '10', at: new Date('2026-01-02T03:04:05Z'), doc: { n: 1 }, name: 'a1' },
      { id: 2, big: '20', at: new Date('2026-01-02T03:04:05Z'), doc: { n: 2 }, name: 'a2' },
    ];
    expect(first[0]).toEqual(expected);
    let again: unknown[] = [];
    expect(
      await describes(async () => {
        again = [
          (await typed()).rows,
          await none(),
          (await insert(11))[0]?.numInsertedOrUpdatedRows,
          await ds.withTenant('acme', async (trx) => (await sql`select id, name from items where id = ${1}`.execute(trx)).rows),
        ];
      }),
    ).toBe(1); // only the new statement in withTenant
    expect(again).toEqual([expected, [], 1n, [{ id: 1, name: 'a1' }]]);
    // the same statement twice in one batch, already described: rows for both
    const batch = await ds.batchWithTenant('acme', [
      acme.selectFrom('items').select(['id', 'name']).where('id', '=', 1),
      acme.selectFrom('items').select(['id', 'name']).where('id', '=', 2),
    ]);
    expect(batch.map((r) => r.rows)).toEqual([[{ id: 1, name: 'a1' }], [{ id: 2, name: 'a2' }]]);
  });

  it('describe a statement again once the cleanup after untrusted SQL dropped it', async () => {
    await seed();
    const { ds, box } = open();
    const describes = countDescribes(box);
    const q = () => ds.forTenant('acme').selectFrom('items').select(['id', 'name']).where('id', '=', 1).execute();
    expect(await describes(q)).toBe(1);
    expect(await describes(q)).toBe(0);
    // pg_sleep is not on the trusted list: DISCARD ALL after the checkout drops every prepared statement
    await sql`select pg_sleep(0)`.execute(ds.forTenant('acme'));
    let rows: unknown;
    expect(
      await describes(async () => {
        rows = await q();
      }),
    ).toBe(1);
    expect(rows).toEqual([{ id: 1, name: 'a1' }]);
  });

  it('reuses the description for the same statement several times in a batch, also after the middle one failed', async () => {
    await seed();
    const { ds, box } = open();
    const t = ds.forTenant('acme');
    const div = (d: number) => sql<{ q: number }>`select (10 / ${d}::int)::int as q, name from items where id = 1`;
    expect((await div(2).execute(t)).rows).toEqual([{ q: 5, name: 'a1' }]);
    await expect(
      ds.batchWithTenant(
        'acme',
        [div(1), div(0), div(5)].map((x) => x.compile(t)),
      ),
    ).rejects.toMatchObject({ sqlState: '22012' });
    const before = box.describes;
    const res = await ds.batchWithTenant(
      'acme',
      [div(1), div(5), div(10)].map((x) => x.compile(t)),
    );
    expect(box.describes).toBe(before);
    expect(res.map((r) => r.rows)).toEqual([[{ q: 10, name: 'a1' }], [{ q: 2, name: 'a1' }], [{ q: 1, name: 'a1' }]]);
  });

  it('keeps a batch of cached no-rows, zero-rows and rows statements aligned with its queries', async () => {
    await seed();
    const { ds, box } = open();
    const t = ds.forTenant('acme');
    const ins = (id: number) => t.insertInto('notes').values({ tenant_id: 'acme', body: `b${id}` });
    const none = t.selectFrom('items').select(['id', 'name']).where('id', '=', 999);
    const some = (id: number) => t.selectFrom('items').select(['id', 'name']).where('id', '=', id);
    const ret = (id: number) =>
      t
        .insertInto('notes')
        .values({ tenant_id: 'acme', body: `r${id}` })
        .returning(['body']);
    const first = await ds.batchWithTenant('acme', [ins(1), none, some(1), ret(1), none, some(2), ins(2)]);
    const before = box.describes;
    const again = await ds.batchWithTenant('acme', [ins(3), none, some(1), ret(2), none, some(2), ins(4)]);
    expect(box.describes).toBe(before);
    const shape = (rs: typeof first) => rs.map((r) => [r.rows, r.numAffectedRows]);
    const expected = (returned: string) => [
      [[], 1n],
      [[], undefined],
      [[{ id: 1, name: 'a1' }], undefined],
      [[{ body: returned }], 1n],
      [[], undefined],
      [[{ id: 2, name: 'a2' }], undefined],
      [[], 1n],
    ];
    expect(shape(first)).toEqual(expected('r1'));
    expect(shape(again)).toEqual(expected('r2'));
  });

  it('describes a statement whose first execution failed at Bind (confirmed, never described) on its next run', async () => {
    await seed();
    const { ds } = open();
    const t = ds.forTenant('acme');
    const q = (id: unknown) => sql<{ id: number; name: string }>`select id, name from items where id = ${id}`.execute(t);
    await expect(q('abc')).rejects.toMatchObject({ sqlState: '22P02' });
    expect((await q(1)).rows).toEqual([{ id: 1, name: 'a1' }]);
    expect((await q(2)).rows).toEqual([{ id: 2, name: 'a2' }]);
  });

  it('describes afresh a statement the server lost (26000) and whose table changed meanwhile', async () => {
    await db.pool.query(`insert into plain values (1, 'a')`);
    const { ds, box } = open();
    const q = () => ds.db.selectFrom('plain').selectAll().execute();
    expect(await q()).toEqual([{ id: 1, v: 'a' }]);
    expect(await q()).toEqual([{ id: 1, v: 'a' }]);
    await box.client!.query('deallocate all');
    await db.pool.query('alter table plain add column w int default 7');
    expect(await q()).toEqual([{ id: 1, v: 'a', w: 7 }]);
    expect(await q()).toEqual([{ id: 1, v: 'a', w: 7 }]);
  });

  it('streams a statement that also runs with a cached description before and after', async () => {
    await seed();
    const { ds } = open();
    const t = ds.forTenant('acme');
    const q = t.selectFrom('items').select(['id', 'name']).orderBy('id');
    expect(await q.execute()).toEqual([
      { id: 1, name: 'a1' },
      { id: 2, name: 'a2' },
    ]);
    const streamed: unknown[] = [];
    for await (const r of q.stream(1)) streamed.push(r);
    expect(streamed).toEqual([
      { id: 1, name: 'a1' },
      { id: 2, name: 'a2' },
    ]);
    expect(await q.execute()).toEqual([
      { id: 1, name: 'a1' },
      { id: 2, name: 'a2' },
    ]);
  });

  it('keeps descriptions right across savepoints, rolled back and failed transactions', async () => {
    await seed();
    const { ds } = open();
    const q = (trx: typeof ds.db) => trx.selectFrom('items').select(['id', 'name']).where('id', '=', 1).execute();
    const trx = await ds.forTenant('acme').startTransaction().execute();
    const sp = await trx.savepoint('a').execute();
    expect(await q(sp as unknown as typeof ds.db)).toEqual([{ id: 1, name: 'a1' }]);
    await sp.rollbackToSavepoint('a').execute();
    expect(await q(trx as unknown as typeof ds.db)).toEqual([{ id: 1, name: 'a1' }]);
    await trx.rollback().execute();
    expect(await q(ds.forTenant('acme'))).toEqual([{ id: 1, name: 'a1' }]);
    await ds
      .withTenant('acme', async (w) => {
        expect(await q(w as unknown as typeof ds.db)).toEqual([{ id: 1, name: 'a1' }]);
        await expect(sql`select 1/0`.execute(w)).rejects.toMatchObject({ sqlState: '22012' });
      })
      .catch(() => undefined);
    expect(await q(ds.forTenant('acme'))).toEqual([{ id: 1, name: 'a1' }]);
  });

  it('serves a CamelCasePlugin data source and a plain one sharing the pool and the statement', async () => {
    await seed();
    const { ds } = open();
    const { ds: camel } = open({}, true);
    const text = sql<{ tenant_id: string }>`select tenant_id, name from items where id = ${1}`;
    expect((await text.execute(ds.forTenant('acme'))).rows).toEqual([{ tenant_id: 'acme', name: 'a1' }]);
    expect((await text.execute(camel.forTenant('acme'))).rows).toEqual([{ tenantId: 'acme', name: 'a1' }]);
    expect((await text.execute(ds.forTenant('acme'))).rows).toEqual([{ tenant_id: 'acme', name: 'a1' }]);
    expect((await text.execute(camel.forTenant('acme'))).rows).toEqual([{ tenantId: 'acme', name: 'a1' }]);
  });
});

// Found in review: batches did not recover as single statements do (each test failed before the fix).
describe('batches recover like single statements', () => {
  it('a batch that hit 0A000 replaces its connection: the next batch runs the statement afresh', async () => {
    await db.pool.query(`insert into plain values (1, 'a')`);
    const { ds } = open();
    const q = ds.db.selectFrom('plain').selectAll();
    expect((await ds.batchWithTenant('acme', [q])).map((r) => r.rows)).toEqual([[{ id: 1, v: 'a' }]]);
    await db.pool.query('alter table plain add column w int');
    const err = await ds.batchWithTenant('acme', [q]).catch((e: unknown) => e);
    expect(err).toMatchObject({ sqlState: '0A000' });
    expect((await ds.batchWithTenant('acme', [q])).map((r) => r.rows)).toEqual([[{ id: 1, v: 'a', w: null }]]);
  });

  const sqlState = (e: unknown) => (e as { sqlState?: string }).sqlState;
  const BOTH = [[{ id: 1, name: 'a1' }], [{ name: 'a2' }]];
  /** Runs the batch [a, b] once, lets `lose` drop prepared statements on the server, then runs the batch twice and `a` alone. */
  const afterLoss = async (lose: (client: pg.PoolClient, bText: string) => Promise<unknown>): Promise<unknown[]> => {
    await seed();
    const { ds, box } = open();
    const t = ds.forTenant('acme');
    const a = t.selectFrom('items').select(['id', 'name']).where('id', '=', 1);
    const b = t.selectFrom('items').select('name').where('id', '=', 2);
    const batch = () =>
      ds
        .batchWithTenant('acme', [a, b])
        .then((r) => r.map((x) => x.rows))
        .catch(sqlState);
    expect(await batch()).toEqual(BOTH);
    await lose(box.client!, b.compile().sql);
    return [await batch(), await batch(), await a.execute().catch(sqlState)];
  };

  it('a batch that hit 26000 (the tenant prelude lost too) prepares again and runs, this time and the next', async () => {
    // the lost statements are prepared again within the first batch
    expect(await afterLoss((client) => client.query('deallocate all'))).toEqual([BOTH, BOTH, [{ id: 1, name: 'a1' }]]);
  });

  it('a batch that hit 26000 forgets only the lost statement: no 42P05 afterwards, batch or single', async () => {
    const lost = await afterLoss(async (client, bText) => {
      const { rows } = await client.query<{ name: string }>(`select name from pg_prepared_statements where statement = $1`, [bText]);
      await client.query(`deallocate "${rows[0]!.name}"`);
    });
    expect(lost).toEqual([BOTH, BOTH, [{ id: 1, name: 'a1' }]]);
  });

  it('an empty statement has its own empty result: the results after it stay on their queries', async () => {
    await seed();
    const { ds } = open();
    const alone = await sql`-- nothing`
      .execute(ds.db)
      .then((r) => r.rows)
      .catch((e: unknown) => String(e));
    const mid = await ds
      .batchWithTenant('acme', [sql`select 1 as one`.compile(ds.db), sql`-- nothing`.compile(ds.db), sql`select 2 as two`.compile(ds.db)])
      .then((x) => x.map((y) => y.rows))
      .catch((e: unknown) => String(e));
    expect([alone, mid]).toEqual([[], [[{ one: 1 }], [], [{ two: 2 }]]]);
  });
});
