// `pnpm bench tenant`: throughput of tenant-scoped access vs raw pg, side by side on one
// dedicated embedded PostgreSQL 16 (tmpfs, fsync off), same pool size, 8 concurrent workers.
import os from 'node:os';
import pg from 'pg';
import { benchMachine, median, pair, runCleanups, slice, writeBenchResult } from '@stellaops/bench-kit';
import { sql } from 'kysely';
import { createDataSource, ensureAppRole, PoolRegistry, tenantIsolationSql, TenantKey, type PostgresDataSource } from '../src/index.js';
import { installSecurity } from '../test/support/schema.js';
import { EmbeddedPostgres, findPgBouncer, PgBouncer } from '../test/support/embedded-pg.js';
import { startDelayProxy } from '../test/support/delay-proxy.js';

interface DB {
  items: { id: number; tenant_id: string; name: string };
  items_plain: { id: number; tenant_id: string; name: string };
}

const WORKERS = 8;
const POOL = 8;
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 300);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 12);
const CONTEXT_PAIRS = Math.max(2, Math.round(PAIRS / 2));
/** The two metrics with goals get more pairs: on these 2-core machines 12 pairs spread about ±0.08 between runs. */
const GOAL_PAIRS = Math.max(PAIRS, Number(process.env.BENCH_GOAL_PAIRS ?? 30));
const ROWS = 10_000;
const TENANTS = 16;
const APP_USER = 'bench_app';
const APP_PASSWORD = 'bench-app-pw';
/** The bench database's tenant key: every tenant unit carries `app.tenant_proof`, verified by current_tenant() per statement. */
const TENANT_KEY = new TenantKey('bench', 'bench-tenant-key-0123456789-0123456789-abcdef');

const tenantOf = (id: number): string => `t${id % TENANTS}`;
const randomId = (): number => 1 + Math.floor(Math.random() * ROWS);
const randomIdOf = (tenant: number): number => {
  const k = Math.floor(Math.random() * (ROWS / TENANTS - 1));
  return k * TENANTS + tenant || TENANTS + tenant;
};

const POINT = 'select id, tenant_id, name from items_plain where id = $1';
const POINT_RLS = 'select id, tenant_id, name from items where id = $1';

type VariantName =
  | 'tenant_single_untrusted'
  | 'raw_discard'
  | 'raw_reconnect'
  | 'unit5_batch'
  | 'raw'
  | 'raw_prepared'
  | 'kysely'
  | 'seed'
  | 'tenant_single'
  | 'raw5'
  | 'unit5'
  | 'raw5_rls'
  | 'raw_unit5';

function variants(rawPool: pg.Pool, ds: PostgresDataSource<DB>): Record<VariantName, () => Promise<unknown>> {
  return {
    raw: () => rawPool.query(POINT, [randomId()]),
    raw_prepared: () => rawPool.query({ name: 'bench_point', text: POINT, values: [randomId()] }),
    kysely: () => ds.db.selectFrom('items_plain').select(['id', 'tenant_id', 'name']).where('id', '=', randomId()).execute(),
    seed: async () => {
      // The seed's DataSourceBase: checkout, session SET with the id pasted into SQL (escaped here), then the query.
      const id = randomId();
      const c = await rawPool.connect();
      try {
        await c.query(
          `set app.tenant_id = ${pg.escapeLiteral(tenantOf(id))}; set app.tenant_proof = ${pg.escapeLiteral(TENANT_KEY.proofFor(tenantOf(id)))}`,
        );
        return await c.query(POINT_RLS, [id]);
      } finally {
        c.release();
      }
    },
    tenant_single: () => {
      const id = randomId();
      return ds.forTenant(tenantOf(id)).selectFrom('items').select(['id', 'tenant_id', 'name']).where('id', '=', id).execute();
    },
    // an untrusted statement (pg_sleep is not on the trusted list): the checkout is cleaned afterwards
    tenant_single_untrusted: () => {
      const id = randomId();
      return sql`select id, tenant_id, name from items where id = ${id} and pg_sleep(0) is not null`.execute(ds.forTenant(tenantOf(id)));
    },
    // the two ways to clean a connection after such a unit, measured on raw pg
    raw_discard: async () => {
      const c = await rawPool.connect();
      try {
        await c.query(POINT, [randomId()]);
        await c.query('discard all');
      } finally {
        c.release();
      }
    },
    raw_reconnect: async () => {
      const c = await rawPool.connect();
      try {
        await c.query(POINT, [randomId()]);
      } finally {
        c.release(true);
      }
    },
    raw5: async () => {
      const c = await rawPool.connect();
      try {
        for (let i = 0; i < 5; i++) await c.query(POINT, [randomId()]);
      } finally {
        c.release();
      }
    },
    raw5_rls: async () => {
      const c = await rawPool.connect();
      try {
        for (let i = 0; i < 5; i++) await c.query(POINT_RLS, [randomId()]);
      } finally {
        c.release();
      }
    },
    raw_unit5: async () => {
      const t = Math.floor(Math.random() * TENANTS);
      const c = await rawPool.connect();
      try {
        await c.query('begin');
        await c.query(`select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)`, [
          `t${t}`,
          TENANT_KEY.proofFor(`t${t}`),
        ]);
        for (let i = 0; i < 5; i++) await c.query(POINT_RLS, [randomIdOf(t)]);
        await c.query('commit');
      } finally {
        c.release();
      }
    },
    unit5_batch: () => {
      const t = Math.floor(Math.random() * TENANTS);
      const k = ds.forTenant(`t${t}`);
      return ds.batchWithTenant(
        `t${t}`,
        Array.from({ length: 5 }, () => k.selectFrom('items').select(['id', 'tenant_id', 'name']).where('id', '=', randomIdOf(t))),
      );
    },
    unit5: () => {
      const t = Math.floor(Math.random() * TENANTS);
      return ds.withTenant(`t${t}`, async (trx) => {
        for (let i = 0; i < 5; i++) {
          await trx.selectFrom('items').select(['id', 'tenant_id', 'name']).where('id', '=', randomIdOf(t)).execute();
        }
      });
    },
  };
}

async function main(): Promise<void> {
  const server = await new EmbeddedPostgres('bench-tenant').start();
  const cleanups: Array<() => Promise<void> | void> = [() => server.destroy()];
  try {
    const admin = new pg.Client(server.url());
    await admin.connect();
    await admin.query('create database bench');
    await admin.end();
    const setup = new pg.Client(server.url('bench'));
    await setup.connect();
    await ensureAppRole(setup, { role: APP_USER, password: APP_PASSWORD });
    await installSecurity(setup, {
      database: 'bench',
      appRole: APP_USER,
      key: { tenantKeyId: TENANT_KEY.keyId, tenantKey: 'bench-tenant-key-0123456789-0123456789-abcdef' },
    });
    for (const t of ['items', 'items_plain']) {
      await setup.query(`create table ${t} (id int primary key, tenant_id text not null, name text not null)`);
      await setup.query(`create index on ${t} (tenant_id)`);
      await setup.query(`insert into ${t} select g, 't' || (g % ${TENANTS}), 'name ' || g from generate_series(1, ${ROWS}) g`);
      await setup.query(`grant select, insert, update, delete on ${t} to ${APP_USER}`);
    }
    for (const s of tenantIsolationSql({ table: 'items' })) await setup.query(s);
    await setup.query('vacuum analyze');
    await setup.end();

    const open = (port: number, poolerMode: 'none' | 'transaction', maxAutoPrepare = 250) => {
      const url = `postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${port}/bench`;
      const rawPool = new pg.Pool({ connectionString: url, max: POOL });
      const ds = createDataSource<DB>(
        { connectionString: url, pool: { max: POOL }, poolerMode, maxAutoPrepare, tenantKey: TENANT_KEY },
        { registry: new PoolRegistry() },
      );
      return { rawPool, ds, close: async () => void (await Promise.all([rawPool.end(), ds.close()])) };
    };

    // Sanity: scoping really filters (the bench would be meaningless otherwise).
    {
      const { ds, close } = open(server.port, 'none');
      const n = (await ds.db.selectFrom('items').select('id').execute()).length;
      const m = (await ds.forTenant('t3').selectFrom('items').select('id').execute()).length;
      await close();
      if (n !== 0 || m !== ROWS / TENANTS) throw new Error(`RLS sanity check failed: unscoped ${n}, t3 ${m}`);
    }

    const direct = open(server.port, 'none');
    cleanups.push(direct.close);
    const v = variants(direct.rawPool, direct.ds);
    // The best known pattern before this package (FIELD-NOTES): pg 8.23 `pipeline: true`,
    // BEGIN + set_config + query + COMMIT sent without awaiting each other.
    const pipelinePool = new pg.Pool({
      connectionString: `postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${server.port}/bench`,
      max: POOL,
      pipeline: true,
    });
    cleanups.push(() => pipelinePool.end());
    const pipelined4 = async () => {
      const id = randomId();
      const c = await pipelinePool.connect();
      try {
        const [, , r] = await Promise.all([
          c.query('begin'),
          c.query(`select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)`, [
            tenantOf(id),
            TENANT_KEY.proofFor(tenantOf(id)),
          ]),
          c.query(POINT_RLS, [id]),
          c.query('commit'),
        ]);
        return r;
      } finally {
        c.release();
      }
    };
    const noPrep = open(server.port, 'none', 0);
    cleanups.push(noPrep.close);
    const nv = variants(noPrep.rawPool, noPrep.ds);
    const proxy = await startDelayProxy(server.port, 0.5);
    cleanups.push(() => proxy.close());
    const delayed = open(proxy.port, 'none');
    cleanups.push(delayed.close);
    const dv = variants(delayed.rawPool, delayed.ds);
    const bouncerBin = findPgBouncer();
    let bv: ReturnType<typeof variants> | undefined;
    if (bouncerBin) {
      // as `stella-db cluster up` configures it by default (--pooler-reset driver): no reset between transactions
      const bouncer = await new PgBouncer(bouncerBin, server, { [APP_USER]: APP_PASSWORD }, POOL, {
        server_reset_query: 'DISCARD ALL',
        server_reset_query_always: '0',
      }).start();
      cleanups.push(() => bouncer.stop());
      const viaBouncer = open(bouncer.port, 'transaction');
      cleanups.push(viaBouncer.close);
      bv = variants(viaBouncer.rawPool, viaBouncer.ds);
    }

    const detail: Record<string, { ratio: number; refQps: number; candQps: number }> = {};
    const only = process.env.BENCH_ONLY?.split(',');
    const run = async (name: string, ref: () => Promise<unknown>, cand: () => Promise<unknown>, pairs = PAIRS): Promise<number> => {
      if (only && !only.includes(name)) return Number.NaN;
      const r = await pair(
        () => slice(ref, SLICE_MS, WORKERS),
        () => slice(cand, SLICE_MS, WORKERS),
        pairs,
      );
      detail[name] = r;
      console.log(`${name.padEnd(40)} ${r.ratio.toFixed(3)}  (ref ${Math.round(r.refQps)}/s, candidate ${Math.round(r.candQps)}/s)`);
      return r.ratio;
    };
    const metrics: Record<string, number> = {};
    metrics.kysely_unscoped_ratio = await run('kysely_unscoped_ratio', v.raw, v.kysely);
    metrics.seed_style_ratio = await run('seed_style_ratio', v.raw, v.seed);
    metrics.tenant_single_ratio = await run('tenant_single_ratio', v.raw, v.tenant_single, GOAL_PAIRS);
    metrics.tenant_unit5_ratio = await run('tenant_unit5_ratio', v.raw5, v.unit5, GOAL_PAIRS);
    metrics.delayed_tenant_single_ratio = await run('delayed_tenant_single_ratio', dv.raw, dv.tenant_single);
    if (bv) metrics.pgbouncer_tenant_single_ratio = await run('pgbouncer_tenant_single_ratio', bv.raw, bv.tenant_single);
    metrics.raw_pg_qps = Math.round(
      median(
        Object.entries(detail)
          .filter(([k]) => !k.startsWith('delayed') && !k.startsWith('pgbouncer') && k !== 'tenant_unit5_ratio')
          .map(([, d]) => d.refQps),
      ),
    );
    // Context (not goals): without auto-prepared statements, and raw pg with a named statement.
    metrics.kysely_unscoped_no_autoprepare_ratio = await run('kysely_unscoped_no_autoprepare_ratio', nv.raw, nv.kysely, CONTEXT_PAIRS);
    metrics.tenant_single_no_autoprepare_ratio = await run('tenant_single_no_autoprepare_ratio', nv.raw, nv.tenant_single, CONTEXT_PAIRS);
    metrics.tenant_unit5_no_autoprepare_ratio = await run('tenant_unit5_no_autoprepare_ratio', nv.raw5, nv.unit5, CONTEXT_PAIRS);
    metrics.pg_pipeline_4stmt_tenant_single_ratio = await run('pg_pipeline_4stmt_tenant_single_ratio', v.raw, pipelined4, CONTEXT_PAIRS);
    metrics.tenant_unit5_batch_ratio = await run('tenant_unit5_batch_ratio', v.raw5, v.unit5_batch, CONTEXT_PAIRS);
    metrics.raw_pg_prepared_ratio = await run('raw_pg_prepared_ratio', v.raw, v.raw_prepared, CONTEXT_PAIRS);
    // Context: the price of a unit that ran untrusted SQL (cleanup), and the two cleanups on raw pg.
    metrics.tenant_single_untrusted_ratio = await run('tenant_single_untrusted_ratio', v.raw, v.tenant_single_untrusted, CONTEXT_PAIRS);
    metrics.raw_discard_all_ratio = await run('raw_discard_all_ratio', v.raw, v.raw_discard, CONTEXT_PAIRS);
    metrics.raw_reconnect_ratio = await run('raw_reconnect_ratio', v.raw, v.raw_reconnect, CONTEXT_PAIRS);
    if (bv)
      metrics.pgbouncer_tenant_single_untrusted_ratio = await run(
        'pgbouncer_tenant_single_untrusted_ratio',
        bv.raw,
        bv.tenant_single_untrusted,
        CONTEXT_PAIRS,
      );
    if (only?.includes('debug')) {
      const tp = new pg.Pool({
        connectionString: `postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${server.port}/bench`,
        max: POOL,
        options: '-c statement_timeout=30000 -c TimeZone=UTC',
      });
      cleanups.push(() => tp.end());
      const tv = variants(tp, direct.ds);
      await run('raw5_timeout_vs_raw5', v.raw5, tv.raw5);
      await run('raw_timeout_vs_raw', v.raw, tv.raw);
      await run('unit5_vs_raw_unit5_rls', v.raw_unit5, v.unit5);
      await run('raw5_rls_vs_raw5', v.raw5, v.raw5_rls);
      await run('unit5_vs_raw5_rls', v.raw5_rls, v.unit5);
    }
    metrics.delayed_raw_pg_qps = Math.round(detail.delayed_tenant_single_ratio?.refQps ?? Number.NaN);
    const units: Record<string, string> = Object.fromEntries(Object.keys(metrics).map((k) => [k, k.endsWith('qps') ? 'ops/s' : 'x raw']));
    writeBenchResult('tenant', metrics, units, {
      settings: {
        workers: WORKERS,
        poolSize: POOL,
        sliceMs: SLICE_MS,
        pairs: PAIRS,
        goalPairs: GOAL_PAIRS,
        rows: ROWS,
        tenants: TENANTS,
        proxyDelayMsEachWay: 0.5,
      },
      detail,
      loadAverage: os.loadavg(),
      notes: [
        'each ratio: median over alternating ABBA slices of reference and candidate (robust to load drift on a shared machine)',
        'raw/kysely reference: point select by PK on an identical table without RLS, as the same app role',
        'tenant_unit5_ratio: units of 5 point selects per second vs 5 raw selects on one checked-out client',
        'tenant_unit5_batch_ratio (context): the same 5 selects as one batchWithTenant (one round trip, atomic)',
        'pg_pipeline_4stmt_tenant_single_ratio (context): pg pipeline:true with BEGIN, set_config, query, COMMIT (the best known pattern in FIELD-NOTES)',
        'tenant_single_untrusted_ratio (context): a statement calling a function off the trusted list; the checkout ends with DISCARD ALL (direct) or the in-transaction cleanup (PgBouncer)',
        'raw_discard_all_ratio / raw_reconnect_ratio (context): raw pg point select followed by DISCARD ALL, or by destroying the connection (next checkout reconnects): the two cleanups compared',
        '*_no_autoprepare_ratio (context): the same with maxAutoPrepare=0 (unnamed statements like the raw reference)',
        'delayed_* and pgbouncer_* ratios compare to raw pg through the same proxy / PgBouncer',
        pgbouncerNote(bouncerBin),
      ],
      machine: benchMachine(),
    });
  } finally {
    await runCleanups(cleanups);
  }
}

function pgbouncerNote(bin: string | undefined): string {
  return bin
    ? `pgbouncer ${bin} (transaction mode, pool ${POOL}, server_reset_query = DISCARD ALL, server_reset_query_always = 0 as stella-db cluster's default --pooler-reset driver)`
    : 'pgbouncer not installed: pgbouncer_tenant_single_ratio omitted';
}

await main();
