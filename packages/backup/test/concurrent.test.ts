import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPgBouncer, startPgBouncer, type PgBouncerHandle } from '@stellaops/embedded-server';
import { restoreBackup, takeBackup, verifyBackup } from '../src/index.js';
import { restoreDir, startStellaopsCluster, verifyOptions, type ArchivingCluster } from './helpers.js';

let c: ArchivingCluster;
let bouncer: PgBouncerHandle | undefined;
let pooled: pg.ClientConfig;
const PGBOUNCER = findPgBouncer();
const ACCOUNTS = 50;
const TOTAL = ACCOUNTS * 1000;

beforeAll(async () => {
  c = await startStellaopsCluster(`
    create schema shop;
    create table shop.accounts (id int primary key, balance bigint not null check (balance >= 0));
    insert into shop.accounts select g, 1000 from generate_series(1, ${ACCOUNTS}) g;
    create table shop.orders (id bigserial primary key, tenant_id text not null, lines int not null, payload text not null, payload_md5 text not null, check (md5(payload) = payload_md5));
    create table shop.order_lines (order_id bigint not null references shop.orders (id), tenant_id text not null, n int not null, filler text not null, primary key (order_id, n));
    create index on shop.orders (payload_md5);
    alter table shop.orders enable row level security, force row level security;
    alter table shop.order_lines enable row level security, force row level security;
    create policy tenant on shop.orders using (tenant_id = nullif(current_setting('app.tenant_id', true), ''));
    create policy tenant on shop.order_lines using (tenant_id = nullif(current_setting('app.tenant_id', true), ''));
    grant usage on schema shop to stellaops_app;
    grant select, insert on shop.orders, shop.order_lines to stellaops_app;
    grant select, update on shop.accounts to stellaops_app;
    grant usage on sequence shop.orders_id_seq to stellaops_app;
  `);
  // the tenant workload goes through PgBouncer in transaction mode, as the services' does
  pooled = { host: '127.0.0.1', port: c.port, user: 'stellaops_app', password: c.password, database: 'stellaops' };
  if (PGBOUNCER) {
    const dir = join(c.root, 'pgbouncer');
    mkdirSync(dir, { mode: 0o700 });
    bouncer = await startPgBouncer({
      binary: PGBOUNCER,
      dir,
      runAs: c.runAs,
      databases: { stellaops: `host=127.0.0.1 port=${c.port} dbname=stellaops user=stellaops_app password=${c.password}` },
    });
    pooled = { ...pooled, port: bouncer.port };
  }
});

afterAll(async () => {
  await bouncer?.stop();
  await c?.destroy();
});

/** One writer: orders with their lines in one transaction, and transfers that keep the sum of balances constant. */
async function writer(stop: { done: boolean }, seed: number): Promise<number> {
  const db = new pg.Client(pooled);
  await db.connect();
  const tenant = `tenant-${seed}`;
  let n = 0;
  try {
    while (!stop.done) {
      const lines = 1 + ((n + seed) % 5);
      const payload = `w${seed}-${n}-${'x'.repeat(200 + (n % 700))}`;
      await db.query('begin');
      await db.query("select set_config('app.tenant_id', $1, true)", [tenant]);
      const { rows } = await db.query<{ id: string }>(
        'insert into shop.orders (tenant_id, lines, payload, payload_md5) values ($1, $2, $3, md5($3)) returning id',
        [tenant, lines, payload],
      );
      await db.query(
        "insert into shop.order_lines (order_id, tenant_id, n, filler) select $1, $2, g, repeat('y', 300) from generate_series(1, $3) g",
        [rows[0]!.id, tenant, lines],
      );
      const from = 1 + ((n * 7 + seed) % ACCOUNTS);
      const to = 1 + ((n * 13 + seed * 3) % ACCOUNTS);
      await db.query('update shop.accounts set balance = balance - 1 where id = $1 and balance > 0', [from]).then(async (r) => {
        if (r.rowCount === 1) await db.query('update shop.accounts set balance = balance + 1 where id = $1', [to]);
      });
      await db.query('commit');
      n++;
    }
  } finally {
    await db.end();
  }
  return n;
}

describe('backup under concurrent writes', () => {
  it(`restores a consistent state: whole transactions only, constraints valid, table counts equal the manifest (tenant workload ${PGBOUNCER ? 'through PgBouncer, transaction pooling' : 'direct: pgbouncer is not installed'})`, async () => {
    const stop = { done: false };
    const writers = [writer(stop, 1), writer(stop, 2), writer(stop, 3)];
    await new Promise((r) => setTimeout(r, 500));
    const m = await takeBackup({ source: c.source, repository: c.repo, label: 'busy' });
    await new Promise((r) => setTimeout(r, 300));
    stop.done = true;
    const written = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
    const orders = m.tables.find((t) => t.table === 'stellaops.shop.orders')!;
    expect(orders.rows).toBeGreaterThan(0);
    expect(orders.rows).toBeLessThan(written); // writes went on after the restore point

    // the drill: restore to the backup's restore point, amcheck, counts/checksums equal the manifest
    const report = await verifyBackup(verifyOptions(c));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);

    // the end of the backup itself (recovery_target = immediate) is consistent too
    const r = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: 'immediate',
      into: restoreDir(c, 'busy'),
      binaries: c.binaries,
      runAs: c.runAs,
    });
    try {
      const db = new pg.Client({ ...r.connection, database: 'stellaops' });
      await db.connect();
      const q = async (sql: string) => (await db.query<{ v: string }>(sql)).rows[0]!.v;
      expect(await q('select sum(balance)::text as v from shop.accounts')).toBe(String(TOTAL));
      expect(
        await q(
          'select count(*)::text as v from shop.orders o where o.lines <> (select count(*) from shop.order_lines l where l.order_id = o.id)',
        ),
      ).toBe('0');
      expect(
        await q(
          'select count(*)::text as v from shop.order_lines l where not exists (select 1 from shop.orders o where o.id = l.order_id)',
        ),
      ).toBe('0');
      expect(await q('select count(*)::text as v from shop.orders where md5(payload) <> payload_md5')).toBe('0');
      expect(
        await q(
          'select count(*)::text as v from shop.order_lines l join shop.orders o on o.id = l.order_id where o.tenant_id <> l.tenant_id',
        ),
      ).toBe('0');
      expect(await q('select count(distinct tenant_id)::text as v from shop.orders')).toBe('3');
      // constraints re-validate on the restored data
      await db.query(
        'alter table shop.order_lines drop constraint order_lines_order_id_fkey, add constraint order_lines_order_id_fkey foreign key (order_id) references shop.orders (id)',
      );
      expect(Number(await q('select count(*)::text as v from shop.orders'))).toBeGreaterThan(0);
      await db.end();
    } finally {
      await r.destroy();
    }
  });
});
