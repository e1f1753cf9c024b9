// One scheduler process for concurrency.test.ts: plans minutes 0..n-1 after T0 from a common start instant, prints what it created.
import { createDataSource, PoolRegistry } from '@stellaops/postgres-core';
import { RunPlanner, type DB } from '../../src/index.js';

const [url, t0, minutes, startAt] = process.argv.slice(2) as [string, string, string, string];
const ds = createDataSource<DB>({ connectionString: url, pool: { max: 2 } }, { module: 'Scheduler', registry: new PoolRegistry() });
try {
  const planner = new RunPlanner(ds.db);
  await planner.planDue({ now: new Date(0) }); // connect before the start line (plans nothing)
  await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
  let created = 0;
  for (let m = 0; m < Number(minutes); m++) created += (await planner.planDue({ now: new Date(Number(t0) + m * 60_000) })).created.length;
  process.stdout.write(`${JSON.stringify({ created })}\n`);
} finally {
  await ds.close();
}
