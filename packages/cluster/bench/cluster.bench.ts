// `pnpm bench cluster`: the production-shaped cluster (PostgreSQL 16 + PgBouncer, TLS
// verify-full) measured as services use it. Ratios from alternating slices (ABBA) in one run.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { benchMachine, pair, runCleanups, slice, writeBenchResult, type PairResult } from '@stellaops/bench-kit';
import { freePorts } from '@stellaops/embedded-server';
import { SchemaMigrator } from '@stellaops/migrator';
import {
  createDataSource,
  installTenantKey,
  PoolRegistry,
  SECURITY_SCHEMA,
  securityMigrations,
  TenantKey,
  tenantIsolationSql,
  type PostgresDataSource,
} from '@stellaops/postgres-core';
import { Cluster, connectionInfo, parseMemory, PGBOUNCER_ADMIN, type ClusterContext } from '../src/index.js';

interface DB {
  items: { id: number; tenant_id: string; name: string };
}

const WORKERS = 8;
const POOL = 8;
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 400);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 10);
const CROWD_SLICE_MS = Number(process.env.BENCH_CROWD_SLICE_MS ?? 2_000);
const CROWD_PAIRS = Number(process.env.BENCH_CROWD_PAIRS ?? 4);
const ROWS = 10_000;
const TENANTS = 16;
// 100 direct clients must fit beside PgBouncer's pool: max_connections 120 gives a PgBouncer cap of 100
// (120 - 17 direct - 3 reserved), the same number of server connections as the direct reference.
const MAX_CONNECTIONS = '120';

const tenantOf = (id: number): string => `t${id % TENANTS}`;
const randomId = (): number => 1 + Math.floor(Math.random() * ROWS);
const POINT = 'select id, tenant_id, name from items_plain where id = $1';

async function console_(ctx: ClusterContext, command: string): Promise<void> {
  const c = new pg.Client({
    host: 'localhost',
    port: ctx.state.ports.pgbouncer,
    user: PGBOUNCER_ADMIN,
    password: ctx.secrets.pgbouncer[PGBOUNCER_ADMIN],
    database: 'pgbouncer',
    ssl: { ca: readFileSync(ctx.layout.tls.caCert, 'utf8') },
  });
  await c.connect();
  try {
    await c.query(command);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const root = `/dev/shm/stellaops-cluster-bench-${randomBytes(4).toString('hex')}`;
  const cluster = new Cluster({
    root,
    memoryBytes: parseMemory('2GiB'),
    overrides: { max_connections: MAX_CONNECTIONS },
    ports: await freePorts(2).then(([postgres, pgbouncer]) => ({ postgres: postgres!, pgbouncer: pgbouncer! })),
    onProgress: (m) => console.error(`… ${m}`),
    monitoring: { mode: 'off' }, // figures comparable with earlier runs (no scrape load)
  });
  const cleanups: (() => unknown)[] = [() => rmSync(root, { recursive: true, force: true }), () => cluster.down()];
  try {
    await cluster.up();
    const ctx = await cluster.context();
    const ca = readFileSync(ctx.layout.tls.caCert, 'utf8');
    const app = ctx.secrets.roles.stellaops_app!;
    const owner = new pg.Client({
      host: 'localhost',
      port: ctx.state.ports.postgres,
      user: 'stellaops_owner',
      password: ctx.secrets.roles.stellaops_owner,
      database: 'stellaops',
      ssl: { ca },
    });
    await owner.connect();
    // the tenant proof as `stella-db cluster up` installs it: the security migrations as the owner, then a key
    const ownerUrl = connectionInfo(ctx, { showSecrets: true }).owner.url;
    await new SchemaMigrator({ connectionString: ownerUrl, schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
    const tenantKey = new TenantKey('bench', randomBytes(32).toString('base64url'));
    await installTenantKey(owner, tenantKey);
    for (const t of ['items', 'items_plain']) {
      await owner.query(`create table ${t} (id int primary key, tenant_id text not null, name text not null)`);
      await owner.query(`create index on ${t} (tenant_id)`);
      await owner.query(`insert into ${t} select g, 't' || (g % ${TENANTS}), 'name ' || g from generate_series(1, ${ROWS}) g`);
      await owner.query(`grant select on ${t} to stellaops_app`);
    }
    for (const s of tenantIsolationSql({ table: 'items' })) await owner.query(s);
    await owner.query('vacuum analyze');
    await owner.end();

    const url = (port: number, tls: boolean) =>
      `postgres://stellaops_app:${encodeURIComponent(app)}@localhost:${port}/stellaops?sslmode=${tls ? 'verify-full' : 'disable'}`;
    const rawPool = (port: number, tls: boolean, max = POOL) =>
      new pg.Pool({ host: 'localhost', port, user: 'stellaops_app', password: app, database: 'stellaops', max, ssl: tls ? { ca } : false });
    const ds = (port: number, tls: boolean, poolerMode: 'none' | 'transaction'): PostgresDataSource<DB> =>
      createDataSource<DB>(
        {
          connectionString: url(port, tls),
          pool: { max: POOL },
          poolerMode,
          tenantKey,
          ...(tls ? { tls: { caFile: ctx.layout.tls.caCert } } : {}),
        },
        { registry: new PoolRegistry() },
      );
    const tenantSingle = (d: PostgresDataSource<DB>) => () => {
      const id = randomId();
      return d.forTenant(tenantOf(id)).selectFrom('items').select(['id', 'tenant_id', 'name']).where('id', '=', id).execute();
    };

    const detail: Record<string, PairResult> = {};
    const metrics: Record<string, number> = {};
    const report = (name: string, r: PairResult) => {
      detail[name] = r;
      metrics[name] = r.ratio;
      console.log(`${name.padEnd(34)} ${r.ratio.toFixed(3)}  (reference ${r.refQps}/s, candidate ${r.candQps}/s)`);
    };

    // 1. tenant-scoped single statement vs raw pg, both through the same PgBouncer (TLS verify-full)
    const bRaw = rawPool(ctx.state.ports.pgbouncer, true);
    const bDs = ds(ctx.state.ports.pgbouncer, true, 'transaction');
    const sanity = await bDs.forTenant('t3').selectFrom('items').select('id').execute();
    if (sanity.length !== ROWS / TENANTS || (await bDs.db.selectFrom('items').select('id').execute()).length !== 0)
      throw new Error('RLS sanity check failed');
    report(
      'pgbouncer_tenant_single_ratio',
      await pair(
        () => slice(() => bRaw.query(POINT, [randomId()]), SLICE_MS, WORKERS),
        () => slice(tenantSingle(bDs), SLICE_MS, WORKERS),
        PAIRS,
      ),
    );

    // 2. the cost of server_reset_query_always = 1 (DISCARD ALL after every transaction): tenant single with it vs without
    const ini = join(ctx.layout.pgbouncerDir, 'pgbouncer.ini');
    const original = readFileSync(ini, 'utf8');
    const resetAlways = async (on: boolean) => {
      writeFileSync(ini, original.replace(/^server_reset_query_always = \d$/m, `server_reset_query_always = ${on ? 1 : 0}`));
      await console_(ctx, 'RELOAD');
    };
    cleanups.push(() => writeFileSync(ini, original));
    report(
      'reset_always_cost_ratio',
      await pair(
        async () => (await resetAlways(false), slice(tenantSingle(bDs), SLICE_MS, WORKERS)),
        async () => (await resetAlways(true), slice(tenantSingle(bDs), SLICE_MS, WORKERS)),
        PAIRS,
      ),
    );
    // back to the cluster's configuration (--pooler-reset driver by default: no reset between transactions)
    writeFileSync(ini, original);
    await console_(ctx, 'RELOAD');
    // PgBouncer counts every client connection against max_client_conn (500): free these before the crowd
    await bRaw.end();
    await bDs.close();

    // 3. 500 clients through PgBouncer vs 100 direct clients (each a connection of its own, raw point selects)
    let crowdErrors = 0;
    const crowd = async (n: number, port: number): Promise<number> => {
      const clients = Array.from(
        { length: n },
        () => new pg.Client({ host: 'localhost', port, user: 'stellaops_app', password: app, database: 'stellaops', ssl: { ca } }),
      );
      await Promise.all(clients.map((c) => c.connect()));
      // each client loops on its own connection
      const t0 = performance.now();
      let done = 0;
      await Promise.all(
        clients.map(async (c) => {
          while (performance.now() < t0 + CROWD_SLICE_MS) {
            try {
              await c.query(POINT, [randomId()]);
              done++;
            } catch {
              crowdErrors++;
            }
          }
        }),
      );
      const rate = done / ((performance.now() - t0) / 1000);
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      // free PgBouncer's idle server connections so the direct clients fit
      if (port === ctx.state.ports.pgbouncer) {
        await console_(ctx, 'KILL stellaops');
        await console_(ctx, 'RESUME stellaops');
      }
      return rate;
    };
    report(
      'pooler500_vs_direct100_ratio',
      await pair(
        () => crowd(100, ctx.state.ports.postgres),
        () => crowd(500, ctx.state.ports.pgbouncer),
        CROWD_PAIRS,
      ),
    );
    metrics.pooler500_errors = crowdErrors;

    // 4. TLS (verify-full) vs plaintext, direct, tenant single. Plaintext TCP is refused by the cluster's
    // pg_hba.conf; for this measurement only, the app role may use it from 127.0.0.1, then the file is restored.
    const hba = join(ctx.layout.confDir, 'pg_hba.conf');
    const hbaText = readFileSync(hba, 'utf8');
    writeFileSync(hba, `hostnossl stellaops stellaops_app 127.0.0.1/32 scram-sha-256\n${hbaText}`);
    const reload = async () => {
      const a = new pg.Client({
        host: ctx.layout.socketDir,
        port: ctx.state.ports.postgres,
        user: 'postgres',
        password: ctx.secrets.superuser,
        database: 'postgres',
      });
      await a.connect();
      await a.query('select pg_reload_conf()');
      await a.end();
    };
    await reload();
    cleanups.push(async () => {
      writeFileSync(hba, hbaText);
      await reload();
    });
    const tlsDs = ds(ctx.state.ports.postgres, true, 'none');
    const plainDs = ds(ctx.state.ports.postgres, false, 'none');
    cleanups.push(
      () => tlsDs.close(),
      () => plainDs.close(),
    );
    report(
      'tls_vs_plain_ratio',
      await pair(
        () => slice(tenantSingle(plainDs), SLICE_MS, WORKERS),
        () => slice(tenantSingle(tlsDs), SLICE_MS, WORKERS),
        PAIRS,
      ),
    );

    writeBenchResult(
      'cluster',
      metrics,
      {
        pgbouncer_tenant_single_ratio: 'x raw via PgBouncer',
        reset_always_cost_ratio: 'x without reset_always',
        pooler500_vs_direct100_ratio: 'x 100 direct',
        pooler500_errors: 'errors',
        tls_vs_plain_ratio: 'x plaintext',
      },
      {
        goals: { pgbouncer_tenant_single_ratio: 0.9, pooler500_vs_direct100_ratio: 0.9, pooler500_errors: 0 },
        settings: {
          workers: WORKERS,
          poolSize: POOL,
          sliceMs: SLICE_MS,
          pairs: PAIRS,
          crowdSliceMs: CROWD_SLICE_MS,
          crowdPairs: CROWD_PAIRS,
          rows: ROWS,
          tenants: TENANTS,
          maxConnections: MAX_CONNECTIONS,
          pgbouncerCap: ctx.settings.pool.maxDbConnections,
        },
        detail,
        loadAverage: os.loadavg(),
        notes: [
          'every connection is TLS verify-full with the cluster CA except the plaintext side of tls_vs_plain_ratio',
          'pgbouncer_tenant_single_ratio: ds.forTenant() point select (poolerMode transaction) vs raw pg point select on the same table without RLS, both through the same PgBouncer',
          'reset_always_cost_ratio: tenant single through PgBouncer with server_reset_query_always=1 (DISCARD ALL after each transaction) vs =0; below 1 is its cost',
          'pooler500_vs_direct100_ratio: 500 clients each looping raw point selects through PgBouncer (cap = 100 server connections here, the default --pooler-reset driver: no reset between transactions) vs 100 direct clients',
          `max_connections=${MAX_CONNECTIONS} for this run so that 100 direct clients fit; the committed configuration uses 100 (PgBouncer cap 80)`,
        ],
        machine: benchMachine(),
      },
    );
  } finally {
    await runCleanups(cleanups);
  }
}

await main();
