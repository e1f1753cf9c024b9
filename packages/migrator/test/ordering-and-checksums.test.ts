import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { captureSql } from '../src/capture/capture-sql.js';
import { normalizeSource } from '../src/checksum/normalize-source.js';
import { compareMigrationIds, computeMigrationsHash, resolveMigrations, InvalidMigrationError } from '../src/index.js';
import { describeMigrationId } from '../src/migration/describe-id.js';

describe('compareMigrationIds', () => {
  it('orders digit runs numerically and is total', () => {
    const ids = ['V10_b', 'V2_a', 'V1_1', 'V1_10', 'V1_2', 'V001_x', 'V1_x', '20240101_a', '3_b'];
    const sorted = [...ids].sort(compareMigrationIds);
    expect(sorted).toEqual(['3_b', '20240101_a', 'V1_1', 'V1_2', 'V1_10', 'V001_x', 'V1_x', 'V2_a', 'V10_b']);
    for (const a of ids) for (const b of ids) expect(Math.sign(compareMigrationIds(a, b)) + Math.sign(compareMigrationIds(b, a))).toBe(0);
  });
});

describe('describeMigrationId', () => {
  it('derives readable descriptions', () => {
    expect(describeMigrationId('V001_CreateAuthoritySchema')).toBe('Create authority schema');
    expect(describeMigrationId('V001__create_schema')).toBe('create schema');
    expect(describeMigrationId('V7')).toBe('V7');
  });
});

describe('checksums', () => {
  it('ignore line endings, BOM and trailing whitespace but not content', () => {
    expect(normalizeSource('\uFEFFcreate table a (id int);  \r\n\r\n')).toBe(normalizeSource('create table a (id int);\n'));
    expect(normalizeSource('create table a (id int);')).not.toBe(normalizeSource('create table a (id bigint);'));
  });

  it('hash SQL text, captured Kysely SQL, or an explicit checksum', async () => {
    const [a, b, c] = await resolveMigrations([
      { id: 'V1_a', up: 'create table x.a (id int);\r\n' },
      { id: 'V2_b', up: async (db) => void (await db.schema.createTable('x.b').addColumn('id', 'integer').execute()) },
      { id: 'V3_c', up: 'select 1', checksum: 'abc' },
    ]);
    expect(a?.checksumSource).toBe('sql');
    expect(b?.checksumSource).toBe('captured-sql');
    expect(c?.checksum).toBe('abc');
    // Same SQL written differently in TypeScript → same checksum (stable across tsx/tsc builds).
    const [b2] = await resolveMigrations([
      {
        id: 'V2_b',
        up: async (db) => {
          await db.schema.createTable('x.b').addColumn('id', 'integer').execute();
        },
      },
    ]);
    expect(b2?.checksum).toBe(b?.checksum);
  });

  it('combine into one set hash that changes with any migration', async () => {
    const one = await resolveMigrations([{ id: 'V1', up: 'select 1' }]);
    const two = await resolveMigrations([{ id: 'V1', up: 'select 2' }]);
    expect(computeMigrationsHash('s', '_migrations', one)).toMatch(/^[0-9a-f]{64}$/);
    expect(computeMigrationsHash('s', '_migrations', one)).not.toBe(computeMigrationsHash('s', '_migrations', two));
    expect(computeMigrationsHash('s', '_migrations', one)).not.toBe(computeMigrationsHash('t', '_migrations', one));
  });
});

describe('resolveMigrations validation', () => {
  it('sorts naturally and rejects duplicates, bad ids, tx control, multi-statement no-transaction', async () => {
    const r = await resolveMigrations([
      { id: 'V10', up: 'select 1' },
      { id: 'V9', up: 'select 1' },
    ]);
    expect(r.map((m) => m.id)).toEqual(['V9', 'V10']);
    await expect(
      resolveMigrations([
        { id: 'V1', up: 'select 1' },
        { id: 'V1', up: 'select 2' },
      ]),
    ).rejects.toThrow(InvalidMigrationError);
    await expect(resolveMigrations([{ id: ' V1', up: 'select 1' }])).rejects.toThrow(/invalid migration id/);
    await expect(resolveMigrations([{ id: 'V1', up: 'begin; create table a(); commit;' }])).rejects.toThrow(
      /must not control the transaction/,
    );
    await expect(
      resolveMigrations([{ id: 'V1', up: 'create index concurrently a on b(c); select 1', transaction: false }]),
    ).rejects.toThrow(/exactly one statement \(found 2\)/);
    await expect(resolveMigrations([{ id: 'V1', up: '-- nothing' }])).rejects.toThrow(/no statement/);
  });
});

describe('captureSql (dry run)', () => {
  it('records compiled queries without a database, zero rows for reads', async () => {
    const c = await captureSql(async (db) => {
      await db.schema
        .createTable('s.t')
        .addColumn('id', 'serial', (col) => col.primaryKey())
        .execute();
      const rows = await db.selectFrom('s.t').selectAll().execute();
      for (const _ of rows) await sql`select never`.execute(db);
      await db.insertInto('s.t').values({ id: 1 }).execute();
    });
    expect(c.ok).toBe(true);
    expect(c.queries.map((q) => q.sql)).toEqual([
      'create table "s"."t" ("id" serial primary key)',
      'select * from "s"."t"',
      'insert into "s"."t" ("id") values ($1)',
    ]);
    expect(c.queries[2]?.parameters).toEqual([1]);
  });

  it('reports a partial capture when the step throws', async () => {
    const c = await captureSql(async (db) => {
      await sql`select 1`.execute(db);
      throw new Error('needs data');
    });
    expect(c).toMatchObject({ ok: false, reason: 'needs data' });
    expect(c.queries).toHaveLength(1);
  });
});
