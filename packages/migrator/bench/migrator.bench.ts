// pnpm bench migrator — the runner against its floor, on its own embedded
// PostgreSQL 16 (data on /dev/shm, test-tuned settings), then removed.
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';
import { percentile, timeMs, writeBenchResult } from '@stellaops/bench-kit';
import { EmbeddedCluster, ensurePrivateDir, freePort, locateBinaries, serverRunAs, TEST_TUNED_SETTINGS } from '@stellaops/embedded-server';
import { SchemaMigrator, type Migration } from '../src/index.js';
import { bundleWorker, WorkerProcess } from '../test/helpers/worker-process.js';

const N = 1000;
const REPS = 5;
const CONCURRENT = 16;
const CONCURRENT_PENDING = 100;

const dir = `/dev/shm/stellaops-migrator-bench-${process.pid}`;
const runAs = serverRunAs();
ensurePrivateDir(dir, runAs);
const cluster = new EmbeddedCluster({
  binaries: locateBinaries(runAs, `${dir}-bin`),
  dataDir: `${dir}/data`,
  logFile: `${dir}/server.log`,
  runAs,
  superuserPassword: 'postgres', // loopback-only throwaway cluster of this benchmark run
  settings: TEST_TUNED_SETTINGS,
});
const median = (xs: number[]) => percentile(xs, 50);

function sqlMigrations(n: number): Migration[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `V${String(i + 1).padStart(4, '0')}_T`,
    up: `create table bench.t_${i + 1} (id int primary key, v text)`,
  }));
}

function kyselyMigrations(n: number): Migration[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `V${String(i + 1).padStart(4, '0')}_T`,
    up: async (db) => {
      await db.schema
        .createTable(`bench.t_${i + 1}`)
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('v', 'text')
        .execute();
    },
  }));
}

async function main(): Promise<void> {
  if (!cluster.isInitialized()) await cluster.initialize();
  const port = await freePort();
  await cluster.start(port);
  const url = (database: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  let dbSeq = 0;
  const freshDb = async (): Promise<string> => {
    const name = `bench_${++dbSeq}`;
    await admin.query(`create database ${name}`);
    return name;
  };
  try {
    const apply: number[] = [];
    const applyKysely: number[] = [];
    const floor: number[] = [];
    const status: number[] = [];
    const pairs: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      // Floor: the same SQL by a plain loop, one transaction each (plus the schema).
      // Floor and runner alternate which goes first; their difference is taken per pair.
      const runFloor = async () => {
        const fdb = await freshDb();
        const [f] = await timeMs(async () => {
          const c = new pg.Client({ connectionString: url(fdb) });
          await c.connect();
          await c.query('create schema bench');
          for (const m of sqlMigrations(N)) {
            await c.query('begin');
            await c.query(m.up as string);
            await c.query('commit');
          }
          await c.end();
        });
        floor.push(f);
      };
      // The runner: lock, tracking table, checksums validated, one transaction per migration with its row.
      const adb = await freshDb();
      const runApply = async () => {
        const migrations = sqlMigrations(N);
        const [a, report] = await timeMs(() => new SchemaMigrator({ connectionString: url(adb), schema: 'bench', migrations }).up());
        if (report.results.length !== N) throw new Error('not all applied');
        apply.push(a);
      };
      if (rep % 2 === 0) {
        await runFloor();
        await runApply();
      } else {
        await runApply();
        await runFloor();
      }
      pairs.push((apply[apply.length - 1] as number) - (floor[floor.length - 1] as number));
      // status over 1000 applied, by a fresh migrator (loads and checksums the source too).
      const [s] = await timeMs(() =>
        new SchemaMigrator({ connectionString: url(adb), schema: 'bench', migrations: sqlMigrations(N) }).status(),
      );
      status.push(s);
      // Kysely (TypeScript) migrations: the dry-run checksum capture is included.
      const kdb = await freshDb();
      const [k] = await timeMs(() =>
        new SchemaMigrator({ connectionString: url(kdb), schema: 'bench', migrations: kyselyMigrations(N) }).up(),
      );
      applyKysely.push(k);
    }

    // 16 runner processes at once on 100 pending migrations.
    const bundle = await bundleWorker();
    const workers = await Promise.all(Array.from({ length: CONCURRENT }, () => WorkerProcess.start(bundle.file)));
    const concurrent: number[] = [];
    try {
      for (let rep = 0; rep < REPS; rep++) {
        const cdb = await freshDb();
        const [c, replies] = await timeMs(() =>
          Promise.all(workers.map((w) => w.run({ url: url(cdb), schema: 'conc', count: CONCURRENT_PENDING }))),
        );
        const applied = replies.flatMap((r) => r.applied ?? []);
        if (replies.some((r) => !r.ok) || applied.length !== CONCURRENT_PENDING || new Set(applied).size !== CONCURRENT_PENDING) {
          throw new Error(`concurrent run incorrect: ${JSON.stringify(replies.filter((r) => !r.ok))}`);
        }
        concurrent.push(c);
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await bundle.dispose();
    }

    const applyMs = median(apply);
    const floorMs = median(floor);
    writeBenchResult(
      'migrator',
      {
        apply_1000_ms: applyMs,
        floor_1000_ms: floorMs,
        overhead_per_migration_ms: median(pairs) / N,
        status_1000_ms: median(status),
        concurrent16_ms: median(concurrent),
        apply_1000_kysely_ms: median(applyKysely),
      },
      {
        apply_1000_ms: 'ms',
        floor_1000_ms: 'ms',
        overhead_per_migration_ms: 'ms',
        status_1000_ms: 'ms',
        concurrent16_ms: 'ms',
        apply_1000_kysely_ms: 'ms',
      },
      {
        goal: { apply_1000_ms: '<= 5000', overhead_per_migration_ms: '<= 2' },
        method:
          `median of ${REPS} runs (overhead: median of the per-run differences apply − floor, run back to back in alternating order, / 1000); each on a fresh database of an embedded PostgreSQL 16 on /dev/shm (fsync=off). ` +
          'apply: SchemaMigrator.up() on 1000 SQL migrations (create table), connect + lock + tracking table + one transaction per migration with its row; ' +
          'floor: the same SQL by a plain pg loop, BEGIN/stmt/COMMIT each; status: a fresh SchemaMigrator.status() over 1000 applied; ' +
          `concurrent16: ${CONCURRENT} runner processes started beforehand, all told to migrate ${CONCURRENT_PENDING} pending at once, until all reply; ` +
          'apply_1000_kysely: the same 1000 as Kysely schema-builder migrations (includes the dry-run checksum capture).',
        samples: { apply, floor, status, concurrent, applyKysely, pairDifferences: pairs },
        machine: { cpus: cpus().length, model: cpus()[0]?.model },
      },
    );
  } finally {
    await admin.end().catch(() => {});
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-bin`, { recursive: true, force: true });
  }
}

await main();
