import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ConnectionLostError, isRetryableError, mapDatabaseError } from '@stellaops/postgres-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentError } from '../src/index.js';
import { rejection, startTestCluster, withClient, type TestCluster } from './helpers.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startTestCluster();
  await withClient(t.config('owner', 'direct'), (c) =>
    c.query(`create table public.acked (id text primary key, at timestamptz default now());
             grant select, insert on public.acked to stellaops_app;`),
  );
});
afterAll(async () => {
  await t?.destroy();
});

const WRITERS = 20;

describe('PostgreSQL killed with SIGKILL under load through PgBouncer', () => {
  it('loses no committed row, gives typed retryable errors, and recovers with up', async () => {
    const acked: string[] = [];
    const errors: unknown[] = [];
    let stop = false;
    let killed = false;
    let afterRecovery = 0;
    const writer = async (w: number) => {
      let n = 0;
      let c: pg.Client | undefined;
      while (!stop) {
        try {
          if (!c) {
            // PgBouncer holds a new client while the server is down; a long connect timeout lets it wait for recovery
            c = new pg.Client(t.config('app', 'pgbouncer', { connectionTimeoutMillis: 60_000 }));
            c.on('error', () => undefined); // reported by the failing query
            await c.connect();
          }
          const id = `${w}-${n++}`;
          await c.query('insert into public.acked (id) values ($1)', [id]);
          acked.push(id); // committed: the server acknowledged it
          if (killed && recovered) afterRecovery++;
        } catch (e) {
          errors.push(e);
          await c?.end().catch(() => undefined);
          c = undefined;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await c?.end().catch(() => undefined);
    };
    let recovered = false;
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await expect.poll(() => acked.length, { timeout: 60_000 }).toBeGreaterThan(200);

    // one statement surely in flight when the server dies (the writers may all sit between statements,
    // which PgBouncer then simply holds until the server is back)
    const sleeper = new pg.Client(t.config('app', 'pgbouncer'));
    sleeper.on('error', () => undefined);
    await sleeper.connect();
    const inFlight = sleeper.query('select pg_sleep(60)').then(
      () => undefined,
      (e: unknown) => e,
    );
    const admin0 = await t.admin();
    await expect
      .poll(
        async () => (await admin0.query(`select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(60)'`)).rows[0].n,
        { timeout: 30_000 },
      )
      .toBe(1);
    await admin0.end();

    await t.cluster.postgres.kill(t.ctx);
    killed = true;
    const sleeperError = await inFlight;
    await sleeper.end().catch(() => undefined);
    expect(sleeperError).toBeInstanceOf(Error);
    errors.push(sleeperError);
    await expect
      .poll(async () => (await t.cluster.status()).components.find((c) => c.name === 'postgres')?.state, { timeout: 30_000 })
      .toBe('crashed');
    expect((await t.cluster.status()).healthy).toBe(false);

    const up = await t.cluster.up();
    expect(up.healthy).toBe(true);
    recovered = true;
    await expect.poll(() => afterRecovery, { timeout: 60_000 }).toBeGreaterThan(50);
    stop = true;
    await Promise.all(writers);

    // every error a client saw is typed and retryable (connection lost)
    const mapped = errors.map((e) => mapDatabaseError(e));
    expect(mapped.filter((e) => !isRetryableError(e)).map((e) => (e as Error).message)).toEqual([]);
    expect(mapped.some((e) => e instanceof ConnectionLostError)).toBe(true);
    // no acknowledged row is lost
    const admin = await t.admin('stellaops');
    try {
      const present = new Set((await admin.query('select id from public.acked')).rows.map((r) => r.id as string));
      expect(acked.filter((id) => !present.has(id))).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  it('a crashed PgBouncer is reported and restarted by up', async () => {
    const pid = Number(readFileSync(join(t.ctx.layout.socketDir, 'pgbouncer.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await expect
      .poll(async () => (await t.cluster.status()).components.find((c) => c.name === 'pgbouncer')?.state, { timeout: 10_000 })
      .toBe('crashed');
    expect((await t.cluster.up()).healthy).toBe(true);
    await withClient(t.config('app', 'pgbouncer'), (c) => c.query('select 1'));
  });

  it('a corrupted server configuration stops up with the server log', async () => {
    await t.cluster.down();
    const auto = join(t.ctx.layout.dataDir, 'postgresql.auto.conf');
    const good = readFileSync(auto, 'utf8');
    writeFileSync(auto, `${good}\nwork_mem = 'not a size'\n`);
    try {
      const e = await rejection(t.cluster.up());
      expect(e).toBeInstanceOf(ComponentError);
      expect(e.message).toMatch(/invalid value for parameter "work_mem"/);
    } finally {
      writeFileSync(auto, good);
    }
    expect((await t.cluster.up()).healthy).toBe(true);
  });
});
