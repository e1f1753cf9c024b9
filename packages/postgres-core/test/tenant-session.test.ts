import { CamelCasePlugin, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  CheckViolationError,
  checkAppRole,
  checkHealth,
  createDataSource,
  DatabaseError,
  ForeignKeyViolationError,
  InvalidTenantIdError,
  NotNullViolationError,
  PoolRegistry,
  PoolTimeoutError,
  registerPoolMetrics,
  SerializationFailureError,
  StatementTimeoutError,
  UniqueViolationError,
  UnsupportedOperationError,
  withRetry,
  type PostgresDataSource,
  type PostgresOptionsInput,
} from '../src/index.js';
import { APP_ROLE, type TestDB } from './support/schema.js';
import { useAppDatabase } from './support/app-database.js';

const { db, opened, appUrl } = useAppDatabase();

function open(extra: Partial<PostgresOptionsInput> = {}): PostgresDataSource<TestDB> {
  const ds = createDataSource<TestDB>(
    { connectionString: appUrl(), pool: { max: 2 }, ...db.server.tenantKey, ...extra },
    { registry: new PoolRegistry() },
  );
  opened.push(ds);
  return ds;
}

async function seed(): Promise<void> {
  await db.pool.query(`insert into items (id, tenant_id, name) values (1, 'acme', 'a1'), (2, 'acme', 'a2'), (3, 'globex', 'g1')`);
}

describe('tenant scoping', () => {
  it('shows a tenant only its rows, and nothing without a tenant', async () => {
    await seed();
    const ds = open();
    const acme = await ds.forTenant('acme').selectFrom('items').select(['id', 'tenant_id']).orderBy('id').execute();
    expect(acme).toEqual([
      { id: 1, tenant_id: 'acme' },
      { id: 2, tenant_id: 'acme' },
    ]);
    expect(await ds.forTenant('globex').selectFrom('items').select('id').execute()).toEqual([{ id: 3 }]);
    expect(await ds.db.selectFrom('items').select('id').execute()).toEqual([]);
    expect(await ds.forTenant('initech').selectFrom('items').select('id').execute()).toEqual([]);
  });

  it('rejects writes for another tenant (WITH CHECK) and cannot see them to update or delete', async () => {
    await seed();
    const ds = open();
    await expect(
      ds.forTenant('acme').insertInto('items').values({ id: 10, tenant_id: 'globex', name: 'x' }).execute(),
    ).rejects.toBeInstanceOf(DatabaseError);
    const upd = await ds.forTenant('acme').updateTable('items').set({ name: 'hacked' }).where('id', '=', 3).executeTakeFirst();
    expect(upd.numUpdatedRows).toBe(0n);
    const del = await ds.forTenant('acme').deleteFrom('items').where('id', '=', 3).executeTakeFirst();
    expect(del.numDeletedRows).toBe(0n);
    const still = await db.pool.query(`select name from items where id = 3`);
    expect(still.rows).toEqual([{ name: 'g1' }]);
    await expect(ds.db.insertInto('items').values({ id: 11, tenant_id: 'acme', name: 'no tenant' }).execute()).rejects.toBeInstanceOf(
      DatabaseError,
    );
  });

  it('withTenant commits on success and rolls back on throw', async () => {
    const ds = open();
    await ds.withTenant('acme', async (trx) => {
      await trx.insertInto('items').values({ id: 1, tenant_id: 'acme', name: 'kept' }).execute();
      await trx.insertInto('notes').values({ tenant_id: 'acme', body: 'n' }).execute();
    });
    await expect(
      ds.withTenant('acme', async (trx) => {
        await trx.insertInto('items').values({ id: 2, tenant_id: 'acme', name: 'dropped' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.pool.query(`select id from items order by id`);
    expect(rows.rows).toEqual([{ id: 1 }]);
  });

  it('leaves no tenant on a pooled connection after a unit, a failed unit or a single statement', async () => {
    const ds = open({ pool: { max: 1 } });
    const current = async () =>
      (await sql<{ t: string; pid: number }>`select current_setting('app.tenant_id', true) as t, pg_backend_pid() as pid`.execute(ds.db))
        .rows[0]!;
    const before = await current();
    await ds.withTenant('acme', (trx) => sql`select 1`.execute(trx));
    expect(await current()).toEqual({ t: '', pid: before.pid });
    await expect(ds.withTenant('acme', (trx) => sql`select 1/0`.execute(trx))).rejects.toBeInstanceOf(DatabaseError);
    expect((await current()).t).toBe('');
    await ds.forTenant('globex').selectFrom('items').select('id').execute();
    expect((await current()).t).toBe('');
    await expect(sql`select 1/0`.execute(ds.forTenant('globex'))).rejects.toBeInstanceOf(DatabaseError);
    expect((await current()).t).toBe('');
  });

  it('sets the tenant before the first statement of a unit and keeps it for all of them', async () => {
    const ds = open();
    const seen = await ds.withTenant('acme', async (trx) => {
      const a = await sql<{ t: string }>`select current_setting('app.tenant_id') as t`.execute(trx);
      const b = await sql<{
        t: string;
        x: string;
      }>`select current_setting('app.tenant_id') as t, txid_current_if_assigned()::text as x`.execute(trx);
      return [a.rows[0]?.t, b.rows[0]?.t];
    });
    expect(seen).toEqual(['acme', 'acme']);
  });

  it('supports savepoints inside a unit', async () => {
    const ds = open();
    const trx = await ds.forTenant('acme').startTransaction().execute();
    await trx.insertInto('items').values({ id: 1, tenant_id: 'acme', name: 'a' }).execute();
    const sp = await trx.savepoint('sp1').execute();
    await sp.insertInto('items').values({ id: 2, tenant_id: 'acme', name: 'b' }).execute();
    await sp.rollbackToSavepoint('sp1').execute();
    await trx.commit().execute();
    expect((await db.pool.query('select id from items')).rows).toEqual([{ id: 1 }]);
  });

  it.each([
    ["acme' or '1'='1"],
    ['acme\\'],
    ['acme\u0000globex'],
    ['a'.repeat(65)],
    ['ácme'],
    ['tenant🙂'],
    ["'); drop table items; --"],
    [''],
    [' acme'],
    ['acme;reset all'],
    ['-acme'],
  ])('rejects hostile tenant id %j before touching the database', async (hostile) => {
    await seed();
    const ds = open();
    let caught: unknown;
    try {
      await ds.withTenant(hostile, (trx) => trx.selectFrom('items').selectAll().execute());
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidTenantIdError);
    if (hostile.length > 3) expect((caught as Error).message).not.toContain(hostile);
    expect(() => ds.forTenant(hostile)).toThrow(InvalidTenantIdError);
    expect(ds.pool.totalCount).toBe(0); // no connection was even opened
    expect((await db.pool.query('select count(*)::int as n from items')).rows[0].n).toBe(3);
  });

  it('refuses statements that set the tenant themselves (a session SET would outlive the unit)', async () => {
    await seed();
    const ds = open({ pool: { max: 1 } });
    for (const stmt of [
      sql`set app.tenant_id = 'globex'`,
      sql`SET SESSION "app"."tenant_id" TO 'globex'`,
      sql`select set_config('app.tenant_id', 'globex', false)`,
      sql`reset app.tenant_id`,
    ]) {
      await expect(stmt.execute(ds.db)).rejects.toBeInstanceOf(UnsupportedOperationError);
      await expect(ds.withTenant('acme', (trx) => stmt.execute(trx))).rejects.toBeInstanceOf(UnsupportedOperationError);
    }
    expect(await ds.db.selectFrom('items').select('id').execute()).toEqual([]);
    // reading it is fine
    const r = await sql<{ t: string | null }>`select current_setting('app.tenant_id', true) as t`.execute(ds.db);
    expect(r.rows[0]?.t ?? '').toBe('');
  });

  it('binds the tenant as a parameter: a value with quotes is data, not SQL', async () => {
    // Bypass the id validation to prove the second line of defence: set_config gets a bound value.
    const ds = open();
    const raw = await ds.pool.connect();
    try {
      await raw.query('begin');
      await raw.query(`select set_config('app.tenant_id', $1, true)`, ["x'); drop table items; --"]);
      const r = await raw.query(`select current_setting('app.tenant_id') as t`);
      expect(r.rows[0].t).toBe("x'); drop table items; --");
      await raw.query('rollback');
    } finally {
      raw.release();
    }
    expect((await db.pool.query(`select to_regclass('items') is not null as ok`)).rows[0].ok).toBe(true);
  });
});

describe('batchWithTenant (one round trip)', () => {
  it('runs independent statements as one tenant-scoped transaction and returns each result', async () => {
    await seed();
    const ds = open();
    const t = ds.forTenant('acme');
    const [ins, rows, tx1, tx2] = await ds.batchWithTenant('acme', [
      t.insertInto('items').values({ id: 7, tenant_id: 'acme', name: 'b7' }).returning('id'),
      t.selectFrom('items').select(['id', 'tenant_id']).orderBy('id'),
      sql<{ x: string }>`select txid_current()::text as x`.compile(t),
      sql<{ x: string }>`select txid_current()::text as x`.compile(t),
    ]);
    expect(ins?.rows).toEqual([{ id: 7 }]);
    expect(rows?.rows).toEqual([
      { id: 1, tenant_id: 'acme' },
      { id: 2, tenant_id: 'acme' },
      { id: 7, tenant_id: 'acme' },
    ]);
    expect(tx1?.rows[0]).toEqual(tx2?.rows[0]); // same transaction
    expect((await db.pool.query('select tenant_id from items where id = 7')).rows).toEqual([{ tenant_id: 'acme' }]);
  });

  it('is atomic: a failing statement undoes the earlier ones, and the data source stays usable', async () => {
    await seed();
    const ds = open({ pool: { max: 1 } });
    const t = ds.forTenant('acme');
    const err = await ds
      .batchWithTenant('acme', [
        t.insertInto('items').values({ id: 8, tenant_id: 'acme', name: 'b8' }),
        t.insertInto('items').values({ id: 1, tenant_id: 'acme', name: 'dup' }),
        t.insertInto('items').values({ id: 9, tenant_id: 'acme', name: 'b9' }),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect((await db.pool.query('select id from items where id in (8, 9)')).rows).toEqual([]);
    const r = await ds.batchWithTenant('globex', [t.selectFrom('items').select('id')], { isolationLevel: 'serializable' });
    expect(r[0]?.rows).toEqual([{ id: 3 }]); // the statement ran with the batch's tenant, not the builder's
    expect((await sql<{ t: string }>`select current_setting('app.tenant_id', true) as t`.execute(ds.db)).rows[0]?.t).toBe('');
  });

  it("applies the data source's result-transforming plugins (CamelCasePlugin) to each result", async () => {
    await seed();
    interface CamelDB {
      items: { id: number; tenantId: string; name: string };
    }
    const ds = createDataSource<CamelDB>(
      { connectionString: appUrl(), pool: { max: 1 }, ...db.server.tenantKey },
      { registry: new PoolRegistry(), configure: (b) => b.addPlugin(new CamelCasePlugin()) },
    );
    opened.push(ds as unknown as PostgresDataSource<TestDB>);
    const t = ds.forTenant('acme');
    const query = t.selectFrom('items').select(['id', 'tenantId']).orderBy('id');
    const [rows, inserted] = await ds.batchWithTenant('acme', [
      query,
      t.insertInto('items').values({ id: 7, tenantId: 'acme', name: 'b7' }).returning(['id', 'tenantId']),
    ]);
    expect(rows?.rows).toEqual([
      { id: 1, tenantId: 'acme' },
      { id: 2, tenantId: 'acme' },
    ]);
    expect(inserted).toEqual({ rows: [{ id: 7, tenantId: 'acme' }], numAffectedRows: 1n });
    expect(rows?.rows).toEqual((await query.execute()).slice(0, 2)); // the same shape as through Kysely
  });

  it("logs each batched statement through the builder's log config: 'query' on success, 'error' when the batch failed", async () => {
    await seed();
    const events: LogEvent[] = [];
    const ds = createDataSource<TestDB>(
      { connectionString: appUrl(), pool: { max: 1 }, ...db.server.tenantKey },
      { registry: new PoolRegistry(), configure: (b) => b.setLog((e) => void events.push(e)) },
    );
    opened.push(ds);
    const t = ds.forTenant('acme');
    const queries = [t.selectFrom('items').select('id').compile(), t.selectFrom('notes').select('id').compile()];
    await ds.batchWithTenant('acme', queries);
    expect(events.map((e) => [e.level, e.query])).toEqual([
      ['query', queries[0]],
      ['query', queries[1]],
    ]);
    expect(events[0]?.queryDurationMillis).toBeGreaterThanOrEqual(0);
    expect(events[1]?.queryDurationMillis).toBe(events[0]?.queryDurationMillis); // the batch's duration
    events.length = 0;
    const failing = [
      t.insertInto('items').values({ id: 8, tenant_id: 'acme', name: 'b8' }).compile(),
      t.insertInto('items').values({ id: 1, tenant_id: 'acme', name: 'dup' }).compile(),
    ];
    const err = await ds.batchWithTenant('acme', failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolationError);
    expect(events.map((e) => [e.level, e.query, e.level === 'error' ? e.error : undefined])).toEqual([
      ['error', failing[0], err],
      ['error', failing[1], err],
    ]);
  });
});

describe('session defaults', () => {
  it('applies UTC, statement_timeout and application_name', async () => {
    const ds = open({ commandTimeoutSeconds: 7, applicationName: 'pgcore-test' });
    const r = await sql<{
      tz: string;
      st: string;
      app: string;
    }>`select current_setting('TimeZone') tz, current_setting('statement_timeout') st, current_setting('application_name') app`.execute(
      ds.db,
    );
    expect(r.rows[0]).toEqual({ tz: 'UTC', st: '7s', app: 'pgcore-test' });
  });

  it('puts the schema first on the search path, for unscoped and tenant units', async () => {
    const ds = open({ schema: 'pgcore_app' });
    const path = sql<{ path: string }>`select current_setting('search_path') path`;
    expect((await path.execute(ds.db)).rows).toEqual([{ path: 'pgcore_app,public' }]);
    expect((await ds.withTenant('acme', (trx) => path.execute(trx))).rows).toEqual([{ path: 'pgcore_app,public' }]);
  });

  it('enforces the statement timeout with a typed error', async () => {
    const ds = open({ commandTimeoutSeconds: 1 });
    const err = await ds.withTenant('acme', (trx) => sql`select pg_sleep(5)`.execute(trx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatementTimeoutError);
    expect((err as StatementTimeoutError).sqlState).toBe('57014');
    expect((err as StatementTimeoutError).cause).toBeInstanceOf(Error);
    // the connection is usable afterwards
    expect((await sql<{ one: number }>`select 1 as one`.execute(ds.db)).rows).toEqual([{ one: 1 }]);
  });

  it('runs a module configuration hook (plugins, transaction-local settings)', async () => {
    const ds = createDataSource<TestDB>(
      { connectionString: appUrl(), pool: { max: 1 }, ...db.server.tenantKey },
      { registry: new PoolRegistry(), configure: (b) => b.setSessionSetting('lock_timeout', '1234ms') },
    );
    opened.push(ds);
    const inUnit = await ds.withTenant('acme', (trx) => sql<{ v: string }>`select current_setting('lock_timeout') v`.execute(trx));
    expect(inUnit.rows[0]?.v).toBe('1234ms');
    // transaction-local: the pooled connection does not keep it
    const raw = await ds.pool.query(`select current_setting('lock_timeout') v`);
    expect(raw.rows[0].v).toBe('0');
  });
});

describe('auto-prepared statements', () => {
  it('replace a connection whose prepared statement went stale after DDL', async () => {
    await db.pool.query(`insert into plain values (1, 'a')`);
    const ds = open({ pool: { max: 1 } });
    const q = () => ds.db.selectFrom('plain').selectAll().execute();
    expect(await q()).toEqual([{ id: 1, v: 'a' }]);
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(ds.db)).rows[0]?.pid;
    await db.pool.query('alter table plain add column w int');
    const err = await q().catch((e: unknown) => e);
    expect(err).toMatchObject({ sqlState: '0A000' });
    expect(await q()).toEqual([{ id: 1, v: 'a', w: null }]);
    const pid2 = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(ds.db)).rows[0]?.pid;
    expect(pid2).not.toBe(pid);
  });
});

describe('typed errors', () => {
  it('maps integrity violations with constraint, table and cause', async () => {
    await seed();
    const ds = open();
    const t = ds.forTenant('acme');
    const unique = await t
      .insertInto('items')
      .values({ id: 1, tenant_id: 'acme', name: 'dup' })
      .execute()
      .catch((e: unknown) => e);
    expect(unique).toBeInstanceOf(UniqueViolationError);
    expect(unique).toMatchObject({ sqlState: '23505', constraint: 'items_pkey', table: 'items', code: 'UNIQUE_VIOLATION' });
    expect((unique as Error).cause).toBeInstanceOf(pg.DatabaseError);
    const fk = await t
      .insertInto('items')
      .values({ id: 9, tenant_id: 'acme', name: 'x', parent_id: 999 })
      .execute()
      .catch((e: unknown) => e);
    expect(fk).toBeInstanceOf(ForeignKeyViolationError);
    expect(fk).toMatchObject({ sqlState: '23503', constraint: 'items_parent_id_fkey', table: 'items' });
    const check = await t
      .insertInto('items')
      .values({ id: 9, tenant_id: 'acme', name: 'x', qty: -1 })
      .execute()
      .catch((e: unknown) => e);
    expect(check).toBeInstanceOf(CheckViolationError);
    expect(check).toMatchObject({ sqlState: '23514', constraint: 'items_qty_check' });
    const nn = await sql`insert into items (id, tenant_id, name) values (9, 'acme', null)`.execute(t).catch((e: unknown) => e);
    expect(nn).toBeInstanceOf(NotNullViolationError);
    expect(nn).toMatchObject({ sqlState: '23502', column: 'name', table: 'items' });
  });

  it('maps serialization failures and withRetry re-runs the unit', async () => {
    await db.pool.query(`insert into plain values (1, '0')`);
    const ds = open({ pool: { max: 4 } });
    // Two serializable units read then write the same row: one must fail with 40001.
    let gate!: () => void;
    const bothRead = new Promise<void>((r) => (gate = r));
    let reads = 0;
    const unit = () =>
      ds.withTenant(
        'acme',
        async (trx) => {
          const v = await trx.selectFrom('plain').select('v').where('id', '=', 1).executeTakeFirstOrThrow();
          if (++reads === 2) gate();
          await Promise.race([bothRead, new Promise((r) => setTimeout(r, 2000))]);
          await trx
            .updateTable('plain')
            .set({ v: String(Number(v.v) + 1) })
            .where('id', '=', 1)
            .execute();
        },
        { isolationLevel: 'serializable' },
      );
    const results = await Promise.allSettled([unit(), unit()]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(SerializationFailureError);
    expect((failed[0]!.reason as SerializationFailureError).retryable).toBe(true);

    let attempts = 0;
    let gate2!: () => void;
    const bothRead2 = new Promise<void>((r) => (gate2 = r));
    let reads2 = 0;
    const retried = (delayFirst: boolean) =>
      withRetry(
        () => {
          attempts++;
          return ds.withTenant(
            'acme',
            async (trx) => {
              const v = await trx.selectFrom('plain').select('v').where('id', '=', 1).executeTakeFirstOrThrow();
              if (++reads2 === 2) gate2();
              if (delayFirst) await Promise.race([bothRead2, new Promise((r) => setTimeout(r, 2000))]);
              await trx
                .updateTable('plain')
                .set({ v: String(Number(v.v) + 1) })
                .where('id', '=', 1)
                .execute();
            },
            { isolationLevel: 'serializable' },
          );
        },
        { baseDelayMs: 5 },
      );
    await Promise.all([retried(true), retried(true)]);
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect((await db.pool.query('select v from plain where id = 1')).rows[0].v).toBe('3');
  });
});

describe('pool', () => {
  it('times out waiting for an exhausted pool with a typed error, then recovers', async () => {
    const ds = open({ pool: { max: 1 }, connectionTimeoutSeconds: 1 });
    let release!: () => void;
    const held = ds.withTenant('acme', async (trx) => {
      await sql`select 1`.execute(trx);
      await new Promise<void>((r) => (release = r));
    });
    await new Promise((r) => setTimeout(r, 100));
    const err = await ds
      .forTenant('acme')
      .selectFrom('items')
      .select('id')
      .execute()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolTimeoutError);
    expect((err as PoolTimeoutError).retryable).toBe(true);
    release();
    await held;
    expect(await ds.forTenant('acme').selectFrom('items').select('id').execute()).toEqual([]);
  });

  it('shares one pool per server between data sources of the same registry', async () => {
    const registry = new PoolRegistry();
    const a = createDataSource<TestDB>(
      { connectionString: appUrl(), pool: { max: 2 }, ...db.server.tenantKey },
      { registry, module: 'Notify' },
    );
    const b = createDataSource<TestDB>(
      { connectionString: appUrl(), pool: { max: 2 }, ...db.server.tenantKey },
      { registry, module: 'Policy' },
    );
    expect(a.pool).toBe(b.pool);
    expect(() => createDataSource<TestDB>({ connectionString: appUrl(), pool: { max: 3 }, ...db.server.tenantKey }, { registry })).toThrow(
      /different settings/,
    );
    await a.close();
    expect(registry.size).toBe(1);
    expect(await b.db.selectFrom('plain').select('id').execute()).toEqual([]);
    await b.close();
    expect(registry.size).toBe(0);
    expect(b.pool.ended).toBe(true);
  });

  it('reports health, with its own timeout', async () => {
    const ds = open();
    const ok = await checkHealth(ds, { timeoutMs: 2000 });
    expect(ok.status).toBe('healthy');
    const dead = createDataSource<TestDB>(
      { connectionString: 'postgres://u:secretpw@127.0.0.1:1/x', connectionTimeoutSeconds: 30 },
      { registry: new PoolRegistry() },
    );
    opened.push(dead);
    const bad = await checkHealth(dead, { timeoutMs: 300 });
    expect(bad.status).toBe('unhealthy');
    expect(bad.error).toBeDefined();
    expect(bad.error).not.toContain('secretpw');
  });

  it('exposes pool gauges and histograms on a prom-client registry', async () => {
    const ds = open();
    const registry = new Registry();
    const metrics = registerPoolMetrics(ds, registry, { poolLabel: 'test' });
    await ds.forTenant('acme').selectFrom('items').select('id').execute();
    await ds.withTenant('acme', (trx) => trx.selectFrom('items').select('id').execute());
    const text = await registry.metrics();
    expect(text).toMatch(/stellaops_pg_pool_connections_total\{pool="test"\} [12]/);
    expect(text).toMatch(/stellaops_pg_pool_connections_idle\{pool="test"\} \d/);
    expect(text).toMatch(/stellaops_pg_pool_connections_waiting\{pool="test"\} 0/);
    expect(text).toMatch(/stellaops_pg_pool_acquire_wait_seconds_count\{pool="test"\} 2/);
    expect(text).toMatch(/stellaops_pg_query_duration_seconds_count\{pool="test"\} 2/);
    metrics.unregister();
    expect(await registry.metrics()).not.toContain('stellaops_pg_');
  });
});

describe('roles', () => {
  it('the app role owns nothing, is not superuser and cannot bypass RLS; the migrator superuser is flagged', async () => {
    const problems = await checkAppRole(db.pool, APP_ROLE);
    expect(problems).toEqual([]);
    expect(await checkAppRole(db.pool, 'postgres')).toEqual(expect.arrayContaining([expect.stringContaining('superuser')]));
  });
});
