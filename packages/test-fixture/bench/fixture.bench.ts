// pnpm bench fixture — the fixture's costs, side by side in one run.
// Writes bench/results/fixture.json at the repository root.
import { rmSync } from 'node:fs';
import { percentile, timeMs, writeBenchResult } from '@stellaops/bench-kit';
import pg from 'pg';
import { DatabaseFactory, defaultCacheDir, startTestServer, type TemplateMigrations, type TestServer } from '../src/index.js';

const TABLES = 60;
const ACQUISITIONS = 100;
const WORKERS = 4;

/** A 60-table schema: keys, a foreign key chain, an index and a check per table. */
async function migrate60({ connectionString }: { connectionString: string }): Promise<void> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    await c.query('create schema app');
    for (let i = 0; i < TABLES; i++) {
      const fk = i > 0 ? `, parent_id bigint references app.t${i - 1}(id)` : '';
      await c.query(
        `create table app.t${i} (id bigint generated always as identity primary key, tenant_id text not null,
           name text not null check (length(name) < 200), created_at timestamptz not null default now()${fk})`,
      );
      await c.query(`create index t${i}_tenant on app.t${i} (tenant_id, created_at)`);
    }
  } finally {
    await c.end();
  }
}

const quiet = (): void => undefined;

async function main(): Promise<void> {
  const cacheDir = `${defaultCacheDir()}-bench-${process.pid}`;
  rmSync(cacheDir, { recursive: true, force: true });
  const env = { provider: 'embedded' as const, cacheDir, log: quiet };

  // cold: initdb + start in an empty cache folder; warm: start again from the cached data directory
  const [coldMs, cold] = await timeMs(() => startTestServer(env));
  await cold.stop();
  const warm: number[] = [];
  let server: TestServer | undefined;
  for (let i = 0; i < 3; i++) {
    const [ms, s] = await timeMs(() => startTestServer(env));
    warm.push(ms);
    if (i < 2) await s.stop();
    else server = s;
  }
  const info = server!.info;

  const set: TemplateMigrations = { name: 'bench60', hash: `bench60-${process.pid}`, migrate: migrate60 };
  const builder = new DatabaseFactory(info);
  const [templateMs] = await timeMs(() => builder.template(set));

  // on-demand clones: CREATE DATABASE … TEMPLATE, one at a time
  const clone: number[] = [];
  const pool = await builder.pool(set);
  for (let i = 0; i < 30; i++) {
    const [ms, c] = await timeMs(() => pool.acquire()); // nothing expected: created on demand, no warm pool
    clone.push(ms);
    await pool.release(c.name);
  }
  await builder.close();

  // warm pool as a suite uses it: 4 workers, 100 acquisitions, each a short test
  const acquire: number[] = [];
  const firstQuery: number[] = [];
  const factories = Array.from({ length: WORKERS }, () => new DatabaseFactory(info, { poolSize: 4 }));
  await Promise.all(factories.map(async (f) => (await f.pool(set)).expect(ACQUISITIONS / WORKERS)));
  await new Promise((r) => setTimeout(r, 1500)); // let the pools fill, as they do while a file's first test runs
  await Promise.all(
    factories.map(async (f) => {
      for (let i = 0; i < ACQUISITIONS / WORKERS; i++) {
        const t0 = performance.now();
        const [ms, db] = await timeMs(() => f.acquire(set));
        acquire.push(ms);
        await db.pool.query('select 1');
        firstQuery.push(performance.now() - t0);
        await db.pool.query("insert into app.t0 (tenant_id, name) values ('t1', 'a')");
        await db.pool.query("select count(*) from app.t0 where tenant_id = 't1'");
        await db.pool.query("update app.t0 set name = 'b' where tenant_id = 't1'");
        await db.release();
      }
    }),
  );
  await Promise.all(factories.map((f) => f.close()));

  // 8 at once from cold pools (8 workers starting together)
  const eight = Array.from({ length: 8 }, () => new DatabaseFactory(info));
  await Promise.all(eight.map((f) => f.template(set)));
  const [parallel8Ms, dbs] = await timeMs(() => Promise.all(eight.map((f) => f.acquire(set))));
  await Promise.all(dbs.map((d) => d.release()));
  await Promise.all(eight.map((f) => f.close()));

  // the naive alternative: a fresh database per test, migrated from scratch
  const naive: number[] = [];
  const admin = new pg.Pool({ connectionString: server!.adminConnectionString, max: 2 });
  for (let i = 0; i < 8; i++) {
    const name = `bench_naive_${process.pid}_${i}`;
    const [ms] = await timeMs(async () => {
      await admin.query(`create database ${name}`);
      await migrate60({ connectionString: server!.urlFor(name) });
    });
    naive.push(ms);
    await admin.query(`drop database ${name} with (force)`);
  }
  await admin.end();
  await server!.stop();
  rmSync(cacheDir, { recursive: true, force: true });

  const metrics = {
    cold_start_ms: coldMs,
    warm_start_ms: percentile(warm, 50),
    template_build_ms: templateMs,
    clone_p50_ms: percentile(clone, 50),
    clone_p95_ms: percentile(clone, 95),
    acquire_p50_ms: percentile(acquire, 50),
    acquire_p95_ms: percentile(acquire, 95),
    acquire_to_first_query_p50_ms: percentile(firstQuery, 50),
    acquire_to_first_query_p95_ms: percentile(firstQuery, 95),
    parallel8_acquire_ms: parallel8Ms,
    naive_migrate_p50_ms: percentile(naive, 50),
    // like with like: until a test's first query ran (naive: create + migrate; fixture: acquire + connect + query)
    naive_to_first_query_p50_ratio: percentile(naive, 50) / percentile(firstQuery, 50),
  };
  const units = Object.fromEntries(Object.keys(metrics).map((k) => [k, k.endsWith('_ratio') ? 'x' : 'ms']));
  writeBenchResult('fixture', metrics, units, {
    setup: {
      tables: TABLES,
      acquisitions: ACQUISITIONS,
      workers: WORKERS,
      poolSizePerWorker: 4,
      strategy: 'FILE_COPY',
      storage: cacheDir.startsWith('/dev/shm') ? 'tmpfs' : 'disk',
    },
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
