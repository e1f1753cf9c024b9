import pg from 'pg';
import { CompiledQuery } from 'kysely';
import { createDataSource } from './src/index.js';
import { ScopedDriver } from './src/data-source/scoped-driver.js';
import { buildSessionScope } from './src/data-source/session-scope.js';
interface DB { items: { id: number; tenant_id: string; name: string } }
const url = 'postgres://app_t:pw@127.0.0.1:55500/postgres';
const raw = new pg.Pool({ connectionString: url, max: 8 });
const ds = createDataSource<DB>({ connectionString: url, pool: { max: 8 } });
const W = Number(process.argv[2] ?? 1);
const N = 2000;
async function cpu(name: string, op: () => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await op();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: W }, async () => { for (let i = 0; i < N / W; i++) await op(); }));
  const c = process.cpuUsage(c0); const t = performance.now() - t0;
  console.log(name.padEnd(14), 'cpu µs/op', ((c.user + c.system) / N).toFixed(0).padStart(5), 'wall µs/op', (t * 1000 / N).toFixed(0).padStart(5));
}
const id = () => 1 + 4 * Math.floor(Math.random() * 249);
const Q = 'select id, tenant_id, name from items where id = $1';
const driver = new ScopedDriver(ds.sharedPool, buildSessionScope('t1', [], true, false));
const k = ds.forTenant('t1');
for (let r = 0; r < 2; r++) {
await cpu('raw5', async () => { const c = await raw.connect(); try { for (let i = 0; i < 5; i++) await c.query(Q, [id()]); } finally { c.release(); } });
await cpu('driver-unit5', async () => { const c = await driver.acquireConnection(); try { await driver.beginTransaction(c, {}); for (let i = 0; i < 5; i++) await c.executeQuery(CompiledQuery.raw('select "id", "tenant_id", "name" from "items" where "id" = $1', [id()])); await driver.commitTransaction(c); } finally { await driver.releaseConnection(c); } });
await cpu('unit5', () => k.transaction().execute(async (trx) => { for (let i = 0; i < 5; i++) await trx.selectFrom('items').select(['id', 'tenant_id', 'name']).where('id', '=', id()).execute(); }));
await cpu('unit5-rawq', () => k.transaction().execute(async (trx) => { for (let i = 0; i < 5; i++) await trx.executeQuery(CompiledQuery.raw('select "id", "tenant_id", "name" from "items" where "id" = $1', [id()])); }));
await cpu('unit0+1', () => k.transaction().execute(async (trx) => { await trx.executeQuery(CompiledQuery.raw('select "id", "tenant_id", "name" from "items" where "id" = $1', [id()])); }));
await cpu('driver-unit1', async () => { const c = await driver.acquireConnection(); try { await driver.beginTransaction(c, {}); await c.executeQuery(CompiledQuery.raw('select "id", "tenant_id", "name" from "items" where "id" = $1', [id()])); await driver.commitTransaction(c); } finally { await driver.releaseConnection(c); } });
}
await raw.end(); await ds.close();
