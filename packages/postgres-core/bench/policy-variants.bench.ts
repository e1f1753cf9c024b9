// `pnpm bench policy` (context for the tenant goals, not a goal): how the tenant check itself costs, side by side.
// One embedded PostgreSQL 16, identical tables whose policies differ only in how the tenant is checked; the same
// tenant-scoped point select through the data source (auto-prepared, and with unnamed statements as behind
// PgBouncer) against raw pg on a table without a policy. Each row: median of paired ABBA slices (8 workers).
import pg from 'pg';
import { benchMachine, pair, runCleanups, slice, writeBenchResult } from '@stellaops/bench-kit';
import { createDataSource, ensureAppRole, PoolRegistry, TenantKey, tenantIsolationSql, type PostgresDataSource } from '../src/index.js';
import { installSecurity } from '../test/support/schema.js';
import { EmbeddedPostgres } from '../test/support/embedded-pg.js';
import { VERIFIED_TENANT_VIEW_SQL } from './support/verified-tenant-view.js';

const WORKERS = 8;
const POOL = 8;
const ROWS = 10_000;
const TENANTS = 16;
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 250);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 10);
const SECRET = 'bench-tenant-key-0123456789-0123456789-abcdef';
const KEY = new TenantKey('bench', SECRET);

/** The key lookup alone (NOT a check: for splitting the cost only). */
const LOOKUP_VIEW = `create view stellaops_security.key_lookup_only with (security_barrier) as
  select nullif(pg_catalog.current_setting('app.tenant_id', true), '') as tenant
    from stellaops_security.tenant_keys k
   where k.key_id = pg_catalog.split_part(pg_catalog.current_setting('app.tenant_proof', true), '.', 1)`;

/** The shipped policy: tenantIsolationSql's row tag (applied as is, below). */
const ROW_TAG = 'row_tag';

const POLICIES: Record<string, string> = {
  [ROW_TAG]: '(tenantIsolationSql)',
  raw_setting: `tenant_id = nullif(current_setting('app.tenant_id', true), '')`,
  current_tenant: `tenant_id = (select stellaops_security.current_tenant())`, // shipped before row tags (still accepted: secure, slower)
  view: `tenant_id = (select v.tenant from stellaops_security.verified_tenant v)`,
  lookup_only: `tenant_id = (select v.tenant from stellaops_security.key_lookup_only v)`,
};

const server = await new EmbeddedPostgres('bench-policy').start();
const cleanups: Array<() => unknown> = [() => server.destroy()];
try {
  const setup = new pg.Client(server.url());
  await setup.connect();
  await ensureAppRole(setup, { role: 'bench_app', password: 'bench-app-pw' });
  await installSecurity(setup, { database: 'postgres', appRole: 'bench_app', key: { tenantKeyId: 'bench', tenantKey: SECRET } });
  await setup.query(VERIFIED_TENANT_VIEW_SQL);
  await setup.query(LOOKUP_VIEW);
  await setup.query('grant select on stellaops_security.verified_tenant, stellaops_security.key_lookup_only to bench_app');
  for (const table of ['items_plain', ...Object.keys(POLICIES).map((p) => `items_${p}`)]) {
    await setup.query(`create table ${table} (id int primary key, tenant_id text not null, name text not null)`);
    await setup.query(`insert into ${table} select g, 't' || (g % ${TENANTS}), 'name ' || g from generate_series(1, ${ROWS}) g`);
    await setup.query(`grant select on ${table} to bench_app`);
    const policy = POLICIES[table.slice('items_'.length)];
    if (table === `items_${ROW_TAG}`) {
      for (const s of tenantIsolationSql({ table })) await setup.query(s);
    } else if (policy) {
      await setup.query(`alter table ${table} enable row level security, force row level security`);
      await setup.query(`create policy tenant on ${table} using (${policy})`);
    }
  }
  await setup.query('vacuum analyze');
  await setup.end();

  const url = `postgres://bench_app:bench-app-pw@127.0.0.1:${server.port}/postgres`;
  const raw = new pg.Pool({ connectionString: url, max: POOL });
  const open = (maxAutoPrepare: number): PostgresDataSource<Record<string, { id: number; tenant_id: string; name: string }>> =>
    createDataSource({ connectionString: url, pool: { max: POOL }, tenantKey: KEY, maxAutoPrepare }, { registry: new PoolRegistry() });
  const prepared = open(250);
  const unnamed = open(0);
  cleanups.push(
    () => raw.end(),
    () => prepared.close(),
    () => unnamed.close(),
  );
  const randomId = (): number => 1 + Math.floor(Math.random() * ROWS);
  const rawPoint = () => raw.query('select id, tenant_id, name from items_plain where id = $1', [randomId()]);
  const scoped = (ds: typeof prepared, table: string) => () => {
    const id = randomId();
    return ds
      .forTenant(`t${id % TENANTS}`)
      .selectFrom(table)
      .select(['id', 'tenant_id', 'name'])
      .where('id', '=', id)
      .execute();
  };
  // sanity: every check really filters (t3 sees its 625 rows, unscoped none)
  for (const p of Object.keys(POLICIES)) {
    const n = (await prepared.forTenant('t3').selectFrom(`items_${p}`).select('id').execute()).length;
    const none = (await prepared.db.selectFrom(`items_${p}`).select('id').execute()).length;
    if (n !== ROWS / TENANTS || none !== 0) throw new Error(`policy ${p}: t3 saw ${n}, unscoped ${none}`);
  }
  const metrics: Record<string, number> = {};
  const detail: Record<string, unknown> = {};
  for (const [mode, ds] of [
    ['prepared', prepared],
    ['unnamed', unnamed],
  ] as const) {
    for (const p of Object.keys(POLICIES)) {
      const name = `${p}_${mode}_ratio`;
      const r = await pair(
        () => slice(rawPoint, SLICE_MS, WORKERS),
        () => slice(scoped(ds, `items_${p}`), SLICE_MS, WORKERS),
        PAIRS,
      );
      metrics[name] = r.ratio;
      detail[name] = r;
      console.log(`${name.padEnd(32)} ${r.ratio.toFixed(3)}`);
    }
  }
  writeBenchResult('policy', metrics, Object.fromEntries(Object.keys(metrics).map((k) => [k, 'x raw'])), {
    settings: { workers: WORKERS, poolSize: POOL, sliceMs: SLICE_MS, pairs: PAIRS, rows: ROWS, tenants: TENANTS },
    detail,
    notes: [
      'forTenant point select by primary key vs raw pg on a table without a policy; only the policy differs between rows',
      'row_tag: the shipped policy (tenantIsolationSql: tenant setting + row tag vs sha256 of the session proof; writes verify the HMAC); raw_setting: the old forgeable policy; current_tenant: the PL/pgSQL SECURITY DEFINER HMAC check per statement (shipped before row tags); view: that check as an owner security_barrier view; lookup_only: the key lookup without the HMAC (not a check)',
      '*_prepared: the driver auto-prepares (direct mode); *_unnamed: maxAutoPrepare 0, every statement planned (as behind PgBouncer 1.18)',
    ],
    machine: benchMachine(),
  });
} finally {
  await runCleanups(cleanups);
}
