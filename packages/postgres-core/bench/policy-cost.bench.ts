// Context benchmark (not a goal): server-side cost per statement of the tenant policy, on a dedicated embedded PG16.
// A PL/pgSQL loop (as the app role, plans cached) runs point selects by primary key on identical tables whose policies
// differ: none, the old raw setting, the verified tenant (current_tenant()), and variants that split its cost.
// Run: pnpm --filter @stellaops/postgres-core exec tsx --conditions=@stellaops/source bench/policy-cost.bench.ts
import pg from 'pg';
import { TenantKey } from '../src/index.js';
import { EmbeddedPostgres } from '../test/support/embedded-pg.js';
import { installSecurity, ensureTestRole, APP_ROLE } from '../test/support/schema.js';
import { VERIFIED_TENANT_VIEW_SQL } from './support/verified-tenant-view.js';
const server = await new EmbeddedPostgres('stmtcost').start();
try {
  await ensureTestRole(server.url());
  const c = new pg.Client(server.url());
  await c.connect();
  const key = new TenantKey('k1', 'cost-key-0123456789-0123456789-0123456789');
  await installSecurity(c, {
    database: 'postgres',
    appRole: APP_ROLE,
    key: { tenantKeyId: 'k1', tenantKey: 'cost-key-0123456789-0123456789-0123456789' },
  });
  // measurement only: the loop is a DO block run as the app role
  await c.query(`grant usage on language plpgsql to ${APP_ROLE}`);
  const body = (await c.query(`select prosrc from pg_proc where proname = 'current_tenant'`)).rows[0].prosrc as string;
  await c.query(
    `create function stellaops_security.ct_noset() returns text language plpgsql stable security definer parallel safe as $fn$${body}$fn$`,
  );
  await c.query(
    `create function stellaops_security.ct_noproc() returns text language plpgsql stable security definer parallel safe set search_path = pg_catalog, pg_temp as $fn$ begin return nullif(current_setting('app.tenant_id', true), ''); end $fn$`,
  );
  await c.query(
    `create function stellaops_security.ct_nodef() returns text language plpgsql stable parallel safe as $fn$ begin return nullif(current_setting('app.tenant_id', true), ''); end $fn$`,
  );
  await c.query(`grant execute on all functions in schema stellaops_security to ${APP_ROLE}`);
  // the same check as a security_barrier view owned by the owner (no PL/pgSQL, no SECURITY DEFINER: inlined into
  // the statement's plan); the app role may select the view, never the key table
  await c.query(VERIFIED_TENANT_VIEW_SQL);
  await c.query(`grant select on stellaops_security.verified_tenant to ${APP_ROLE}`);
  for (const [t, pred] of [
    ['items_noset', `tenant_id = (select stellaops_security.ct_noset())`],
    ['items_setonly', `tenant_id = (select stellaops_security.ct_noproc())`],
    ['items_plain_pl', `tenant_id = (select stellaops_security.ct_nodef())`],
    ['items_old', `tenant_id = nullif(current_setting('app.tenant_id', true), '')`],
    ['items_new', `tenant_id = (select stellaops_security.current_tenant())`],
    ['items_view', `tenant_id = (select v.tenant from stellaops_security.verified_tenant v)`],
    ['items_none', 'true'],
  ]) {
    await c.query(`create table ${t} (id int primary key, tenant_id text not null, name text not null)`);
    await c.query(`insert into ${t} select g, 't' || (g % 16), 'n' || g from generate_series(1, 10000) g`);
    await c.query(
      `alter table ${t} enable row level security; alter table ${t} force row level security; create policy p on ${t} using (${pred}) with check (${pred}); grant select on ${t} to ${APP_ROLE}`,
    );
  }
  await c.query('vacuum analyze');
  await c.query(`set role ${APP_ROLE}`);
  await c.query(`select set_config('app.tenant_id', 't3', false), set_config('app.tenant_proof', $1, false)`, [key.proofFor('t3')]);
  const N = 20000;
  const run = async (t: string) => {
    const t0 = performance.now();
    await c.query(
      `do $$ declare r record; begin for i in 1..${N} loop select * into r from ${t} where id = (i % 625) * 16 + 3; end loop; end $$`,
    );
    return ((performance.now() - t0) * 1000) / N;
  };
  const best: Record<string, number[]> = {
    items_none: [],
    items_old: [],
    items_new: [],
    items_view: [],
    items_noset: [],
    items_setonly: [],
    items_plain_pl: [],
  };
  for (let round = 0; round < 5; round++) for (const t of Object.keys(best)) best[t]!.push(await run(t));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // items_none: no policy; items_old: raw setting; items_new: current_tenant(); items_view: the check as a view; items_noset: same body without
  // SET search_path; items_setonly: SECURITY DEFINER + SET, no key lookup or hashing; items_plain_pl: a bare PL/pgSQL call
  console.log(
    JSON.stringify(
      Object.fromEntries(Object.entries(best).map(([k, v]) => [k, `${med(v).toFixed(2)}us/stmt (min ${Math.min(...v).toFixed(2)})`])),
    ),
  );
  await c.end();
} finally {
  await server.destroy();
}
