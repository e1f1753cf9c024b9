import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Cluster } from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, withClient, type TestCluster } from './helpers.js';

// 500 concurrent clients through PgBouncer doing tenant-scoped work: bounded
// in size (4 units per client), not in time, so a loaded machine only slows it.
const CLIENTS = 500;
const UNITS = 4;
const TENANTS = 50;

let t: TestCluster;
beforeAll(async () => {
  t = await startTestCluster();
  await withClient(t.config('owner', 'direct'), async (c) => {
    await c.query(`
      create schema load;
      create table load.items (tenant_id text not null, id bigint generated always as identity primary key, client int not null);
      create index on load.items (tenant_id);
      alter table load.items enable row level security;
      alter table load.items force row level security;
      create policy tenant on load.items using (tenant_id = nullif(current_setting('app.tenant_id', true), ''))
        with check (tenant_id = nullif(current_setting('app.tenant_id', true), ''));
      grant usage on schema load to stellaops_app;
      grant select, insert on load.items to stellaops_app;`);
  });
});
afterAll(async () => {
  await t?.destroy();
});

/** Highest number of app-role server connections seen while `work` runs (sampled over the admin socket). */
async function peakServerConnections(work: Promise<unknown>): Promise<number> {
  const admin = await t.admin();
  let peak = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const r = await admin.query(`select count(*)::int as n from pg_stat_activity where usename = 'stellaops_app'`);
      peak = Math.max(peak, r.rows[0].n as number);
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  try {
    await work;
  } finally {
    done = true;
    await sampling;
    await admin.end();
  }
  return peak;
}

describe('500 clients through PgBouncer', () => {
  it('run tenant-scoped work within the server-connection cap, with 0 errors and 0 cross-tenant rows', async () => {
    const errors: unknown[] = [];
    let crossTenant = 0;
    let units = 0;
    const clients = Array.from({ length: CLIENTS }, () => new pg.Client(t.config('app', 'pgbouncer')));
    const run = async (i: number) => {
      const c = clients[i]!;
      const tenant = `tenant-${i % TENANTS}`;
      try {
        await c.connect();
        for (let u = 0; u < UNITS; u++) {
          await c.query('begin');
          await c.query(`select set_config('app.tenant_id', $1, true)`, [tenant]);
          await c.query('insert into load.items (tenant_id, client) values ($1, $2)', [tenant, i]);
          const rows = await c.query('select tenant_id from load.items');
          crossTenant += rows.rows.filter((r) => r.tenant_id !== tenant).length;
          if (rows.rows.length === 0) throw new Error('own row not visible');
          await c.query('commit');
          units++;
        }
      } catch (e) {
        errors.push(e);
      }
    };
    const peak = await peakServerConnections(Promise.all(clients.map((_, i) => run(i))));
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));

    expect(errors.map((e) => (e as Error).message).slice(0, 5)).toEqual([]);
    expect(units).toBe(CLIENTS * UNITS);
    expect(crossTenant).toBe(0);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(t.ctx.settings.pool.maxDbConnections);
    const admin = await t.admin('stellaops');
    try {
      const r = await admin.query('select count(*)::int as n, count(distinct tenant_id)::int as tenants from load.items');
      expect(r.rows[0]).toEqual({ n: CLIENTS * UNITS, tenants: TENANTS });
    } finally {
      await admin.end();
    }
  });

  it('with --pooler-reset always, session state a raw client leaves never reaches the next client (DISCARD ALL after every transaction)', async () => {
    // the default (driver) leaves this to the data layer; a pooler that serves other clients too is switched by a rerun of up
    const ini = join(t.ctx.layout.pgbouncerDir, 'pgbouncer.ini');
    expect(readFileSync(ini, 'utf8')).toMatch(/^server_reset_query_always = 0$/m);
    await new Cluster({ root: t.root, poolerReset: 'always', monitoring: { mode: 'off' } }).up();
    expect(readFileSync(ini, 'utf8')).toMatch(/^server_reset_query_always = 1$/m);
    expect((await t.cluster.context()).state.poolerReset).toBe('always'); // saved for later runs
    // misbehaving clients set the tenant for the whole session, then leave
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        withClient(t.config('app', 'pgbouncer'), async (c) => {
          await c.query(`select set_config('app.tenant_id', $1, false)`, [`tenant-${i % TENANTS}`]);
          await c.query(`prepare leaked as select 1`);
        }),
      ),
    );
    // clients without tenant context must see nothing, whichever server connection they get
    const seen = await Promise.all(
      Array.from({ length: 200 }, () =>
        withClient(t.config('app', 'pgbouncer'), async (c) => {
          const r = await c.query(
            `select count(*)::int as n, current_setting('app.tenant_id', true) as tenant, (select count(*)::int from pg_prepared_statements) as prepared from load.items`,
          );
          return r.rows[0] as { n: number; tenant: string | null; prepared: number };
        }),
      ),
    );
    expect(seen.filter((s) => s.n !== 0 || (s.tenant ?? '') !== '' || s.prepared !== 0)).toEqual([]);
  });
});
