import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { idOf } from './helpers/generate.js';
import { bundleWorker, WorkerProcess } from './helpers/worker-process.js';

const db = useTestDatabase({ scope: 'test' });
const WORKERS = 16;
const ROUNDS = 5;
const PER_ROUND = 12;

async function checkExactlyOnce(schema: string, expected: number): Promise<void> {
  const tracked = await db.pool.query(`select name from ${schema}._migrations order by name`);
  expect(tracked.rows.map((r: { name: string }) => r.name)).toEqual(Array.from({ length: expected }, (_, i) => idOf(i + 1)));
  const log = await db.pool.query(`select id, count(*)::int as n from ${schema}.applied_log group by id having count(*) <> 1`);
  expect(log.rows).toEqual([]);
  const locks = await db.pool.query(
    "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
  );
  expect(locks.rows[0].n).toBe(0);
}

describe('concurrent runners (separate processes)', () => {
  let workers: WorkerProcess[] = [];
  let bundle: Awaited<ReturnType<typeof bundleWorker>>;
  beforeAll(async () => {
    bundle = await bundleWorker();
    workers = await Promise.all(Array.from({ length: WORKERS }, () => WorkerProcess.start(bundle.file)));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await bundle?.dispose();
  });

  it(`${WORKERS} processes × ${ROUNDS} rounds apply each migration exactly once (with CONCURRENTLY migrations)`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const count = round * PER_ROUND;
      const replies = await Promise.all(
        workers.map((w) => w.run({ url: db.connectionString, schema: 'conc', count, concurrentlyEvery: 7 })),
      );
      const failures = replies.filter((r) => !r.ok);
      expect(failures).toEqual([]);
      const applied = replies.flatMap((r) => r.applied ?? []);
      expect(applied.sort()).toEqual(Array.from({ length: PER_ROUND }, (_, i) => idOf(count - PER_ROUND + i + 1)).sort());
      await checkExactlyOnce('conc', count);
    }
  });

  it('SIGKILL at random points, then a rerun completes with schema and _migrations consistent', async () => {
    const TOTAL = 40;
    const kills: number[] = [];
    const progress: number[] = [];
    for (let i = 0; i < 8; i++) {
      const w = await WorkerProcess.start(bundle.file);
      w.send({ url: db.connectionString, schema: 'killed', count: TOTAL, concurrentlyEvery: 9, sleepMs: 5 });
      const delay = Math.floor(Math.random() * 350);
      kills.push(delay);
      await sleep(delay);
      await w.kill();
      const applied = await db.pool.query(
        "select count(*)::int as n from pg_tables where schemaname = 'killed' and tablename = '_migrations'",
      );
      if (applied.rows[0].n > 0)
        progress.push((await db.pool.query('select count(*)::int as n from killed._migrations')).rows[0].n as number);
      else progress.push(0);
    }
    console.log('kill delays', kills.join(','), 'applied after each kill', progress.join(','));
    const survivor = workers[0] as WorkerProcess;
    const reply = await survivor.run({ url: db.connectionString, schema: 'killed', count: TOTAL, concurrentlyEvery: 9, sleepMs: 5 });
    expect(reply, `kill delays ${kills.join(',')} ms; migrations applied after each kill ${progress.join(',')}`).toMatchObject({
      ok: true,
    });
    await checkExactlyOnce('killed', TOTAL);
    // Every tracked migration's effects exist, fully.
    for (let i = 2; i <= TOTAL; i++) {
      if (i % 9 === 0) {
        const idx = await db.pool.query('select indisvalid from pg_index where indexrelid = to_regclass($1)', [
          `killed.applied_log_idx_${i}`,
        ]);
        expect(idx.rows[0]?.indisvalid, `index ${i}`).toBe(true);
      } else {
        const n = await db.pool.query(`select count(*)::int as n from killed.t_${i}`);
        expect(n.rows[0].n).toBe(200);
      }
    }
  });
});
