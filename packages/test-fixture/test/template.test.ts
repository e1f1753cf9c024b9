import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseFactory, TemplateBuildError, sweepOrphans, templateNameOf } from '../src/index.js';
import { useTestServer } from '../src/vitest/index.js';
import { firstJsonLine, spawnHelper } from './helpers/spawn-tsx.js';

const server = useTestServer();
// templates are keyed by the server's tenant key id too
const nameOf = (set: Parameters<typeof templateNameOf>[0]) => templateNameOf(set, server.tenantKey.tenantKeyId);
let admin: pg.Pool;
const tmp = mkdtempSync(join(tmpdir(), 'fx-template-'));

beforeAll(() => {
  admin = new pg.Pool({ connectionString: server.adminConnectionString, max: 2 });
});
afterAll(async () => {
  await admin.end();
  rmSync(tmp, { recursive: true, force: true });
});

const names = async (prefix: string): Promise<string[]> =>
  (await admin.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [prefix])).rows.map(
    (r) => r.datname,
  );

describe('template built once', () => {
  it('four processes racing for the same migration set build it exactly once', async () => {
    const hash = `race-${Date.now()}-${Math.random()}`;
    const log = join(tmp, 'builds.log');
    writeFileSync(log, '');
    const info = JSON.stringify({ ...server, urlFor: undefined });
    const children = Array.from({ length: 4 }, () => spawnHelper('build-template.ts', [info, hash, log]));
    const results = await Promise.all(children.map((c) => firstJsonLine<{ name: string }>(c)));
    const builds = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    expect(builds).toHaveLength(1);
    const expected = nameOf({ name: 'race', hash, migrate: async () => undefined }).name;
    expect(new Set(results.map((r) => r.name))).toEqual(new Set([expected]));
    const row = await admin.query('select datistemplate, datallowconn from pg_database where datname = $1', [expected]);
    expect(row.rows[0]).toEqual({ datistemplate: true, datallowconn: false });
    expect(await names(`fx_b_`)).toEqual([]);
  });

  it('a second factory reuses the template without migrating again', async () => {
    let runs = 0;
    const set = { name: 'reuse', hash: `reuse-${Date.now()}`, migrate: async () => void runs++ };
    const f1 = new DatabaseFactory(server);
    const f2 = new DatabaseFactory(server);
    try {
      expect(await f1.template(set)).toBe(await f2.template(set));
      expect(runs).toBe(1);
    } finally {
      await f1.close();
      await f2.close();
    }
  });
});

describe('a migration that throws', () => {
  it('fails with TemplateBuildError, leaves no template marked ready, and a fixed set builds', async () => {
    const factory = new DatabaseFactory(server);
    const hash = `broken-${Date.now()}`;
    const broken = {
      name: 'broken',
      hash,
      migrate: async ({ connectionString }: { connectionString: string }) => {
        const c = new pg.Client({ connectionString });
        await c.connect();
        await c.query('create table half (id int)');
        await c.end();
        throw new Error('syntax error at or near "CRATE"');
      },
    };
    try {
      const err = await factory.template(broken).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TemplateBuildError);
      expect((err as Error).message).toMatch(/migrations of "broken" failed.*CRATE.*not marked ready/s);
      expect((err as TemplateBuildError).cause).toBeInstanceOf(Error);
      expect(await names(nameOf(broken).name)).toEqual([]);
      expect((await names('fx_b_')).filter((n) => n.includes(nameOf(broken).key))).toEqual([]);
      // same name and hash, now working: the failure was not cached as ready
      let fixed = false;
      const name = await factory.template({ ...broken, migrate: async () => void (fixed = true) });
      expect(fixed).toBe(true);
      expect(name).toBe(nameOf(broken).name);
    } finally {
      await factory.close();
    }
  });
});

describe('clones', () => {
  it('a kept clone is renamed fx_keep_, stays reachable, and survives sweeps', async () => {
    const factory = new DatabaseFactory(server);
    try {
      const db = await factory.acquire();
      await db.pool.query('create table evidence (x int)');
      const kept = await db.release({ keep: true });
      expect(kept).toMatch(/^fx_keep_/);
      await sweepOrphans(admin);
      const c = new pg.Client({ connectionString: server.urlFor(kept!) });
      await c.connect();
      const r = await c.query("select to_regclass('public.evidence') is not null as present");
      await c.end();
      expect(r.rows[0].present).toBe(true);
      await admin.query(`drop database "${kept}" with (force)`);
    } finally {
      await factory.close();
    }
  });

  it('released clones are dropped and unused prefilled clones are dropped on close', async () => {
    const factory = new DatabaseFactory(server, { poolSize: 3 });
    const pool = await factory.pool();
    pool.expect(4);
    const a = await factory.acquire();
    const b = await factory.acquire();
    expect(a.database).not.toBe(b.database);
    await a.release();
    await b.release();
    await factory.close();
    const left = await names(`fx_c_${server.runTag}_${process.pid.toString(36)}_`);
    expect(left).toEqual([]);
  });
});
