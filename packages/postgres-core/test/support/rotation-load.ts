// The load of the key-rotation stress tests (retag-online, retire-online): lanes of random tenant units on data
// sources, recording every acknowledged write, and the final check that nothing acknowledged was lost.
import type pg from 'pg';
import { expect } from 'vitest';
import type { PostgresDataSource } from '../../src/index.js';
import type { TestDB } from './schema.js';

/** The shape of a load: its tenants, lanes (the id stride), shared counter rows (ids 1..counters) and row padding. */
export interface LoadShape {
  readonly tenants: readonly string[];
  readonly lanes: number;
  readonly counters: number;
  readonly pad: string;
}

/** The seeded tables of the stress tests: 6 tenants; 3000 rows of ~450 bytes (some 200 pages), ids 1..60 of them the shared counters; 300 notes. */
export const SEED = {
  tenants: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
  rows: 3000,
  counters: 60,
  notes: 300,
  pad: 'x'.repeat(420),
} as const;

/**
 * Fills `items` and `notes` with {@link SEED}'s rows (tagged by the fill trigger with the newest key) and returns
 * `laneCount` lanes (index i; new ids from 100 000 + i, stride `shape.lanes`), the first `seedLanes` of them owning
 * the seeded rows above the counters (row id % `seedLanes`).
 */
export async function seedLoad(pool: pg.Pool, shape: LoadShape, seedLanes: number): Promise<Lane[]> {
  await pool.query(
    `insert into items (id, tenant_id, name)
     select g, 'r' || (g % ${SEED.tenants.length}), 'L' || (g % ${seedLanes}) || ':' || g || ':v0|' || repeat('x', ${SEED.pad.length})
       from generate_series(1, ${SEED.rows}) g`,
  );
  await pool.query(
    `insert into notes (tenant_id, body) select 'r' || (g % ${SEED.tenants.length}), 'seed note ' || g from generate_series(1, ${SEED.notes}) g`,
  );
  const lanes: Lane[] = Array.from({ length: shape.lanes }, (_, index) => ({
    index,
    rows: new Map(),
    deleted: new Set(),
    notes: new Map(),
    nextId: 100_000 + index,
    version: 0,
    units: 0,
  }));
  for (let id = SEED.counters + 1; id <= SEED.rows; id++)
    lanes[id % seedLanes]!.rows.set(id, { tenant: seedTenant(shape, id), name: nameOf(shape, id % seedLanes, id, 0) });
  return lanes;
}

/** A small seeded PRNG (mulberry32): a failing run names its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A row as its lane last committed it. */
export interface Row {
  tenant: string;
  name: string;
}

/** What one lane (a sequence of units on one service) committed: rows it owns, by id. */
export interface Lane {
  readonly index: number;
  readonly rows: Map<number, Row>;
  readonly deleted: Set<number>;
  readonly notes: Map<string, string>;
  nextId: number;
  version: number;
  units: number;
}

/** Where units record shared effects and what went wrong. */
export interface UnitLog {
  readonly counters: Map<number, number>;
  readonly failures: string[];
  readonly violations: string[];
}

/** The SQLSTATE (or error name) of a failure. */
export const codeOf = (e: unknown): string => {
  const x = e as { sqlState?: string; code?: string; cause?: { code?: string } };
  return x.sqlState ?? x.cause?.code ?? x.code ?? (e instanceof Error ? e.name : 'unknown');
};

/** A failure for a message: SQLSTATE and the start of its text. */
export const describeError = (e: unknown): string => `${codeOf(e)} ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`;

/** The name a lane writes into a row: lane, id and version, padded. */
export const nameOf = (shape: LoadShape, lane: number, id: number, version: number): string => `L${lane}:${id}:v${version}|${shape.pad}`;

/** The tenant of a seeded row. */
export const seedTenant = (shape: LoadShape, id: number): string => shape.tenants[id % shape.tenants.length]!;

/** A new id of the lane (ids are never reused). */
export function newId(shape: LoadShape, lane: Lane): number {
  const id = lane.nextId;
  lane.nextId += shape.lanes;
  return id;
}

/**
 * One random unit of a lane (insert, update, upsert, delete, a read of what the lane last committed, a shared
 * counter, or a multi-statement `withTenant` unit); returns once it committed (its effects recorded) or failed
 * (recorded in `log.failures`). `label` is added to every message.
 */
export async function randomUnit(
  ds: PostgresDataSource<TestDB>,
  lane: Lane,
  log: UnitLog,
  rnd: () => number,
  shape: LoadShape,
  label = '',
): Promise<void> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const live = [...lane.rows.keys()];
  const anyLive = (): number => pick(live);
  const kind = Math.floor(rnd() * 8);
  const what = `lane ${lane.index} unit ${lane.units} kind ${kind}${label}`;
  try {
    switch (kind) {
      case 0: {
        // insert a new row for a random tenant
        const id = newId(shape, lane);
        const row = { tenant: pick(shape.tenants), name: nameOf(shape, lane.index, id, ++lane.version) };
        await ds.forTenant(row.tenant).insertInto('items').values({ id, tenant_id: row.tenant, name: row.name }).execute();
        lane.rows.set(id, row);
        break;
      }
      case 1: {
        // update a row of the lane (during a rotation it may still carry the old key's tag)
        const id = anyLive();
        const row = lane.rows.get(id)!;
        const name = nameOf(shape, lane.index, id, ++lane.version);
        const r = await ds.forTenant(row.tenant).updateTable('items').set({ name }).where('id', '=', id).executeTakeFirst();
        if (r.numUpdatedRows !== 1n) log.violations.push(`${what}: update of ${id} (${row.tenant}) changed ${r.numUpdatedRows} rows`);
        else row.name = name;
        break;
      }
      case 2: {
        // upsert: an existing row of the lane (conflict, update) or a new one
        const existing = rnd() < 0.6;
        const id = existing ? anyLive() : newId(shape, lane);
        const tenant = existing ? lane.rows.get(id)!.tenant : pick(shape.tenants);
        const name = nameOf(shape, lane.index, id, ++lane.version);
        const r = await ds
          .forTenant(tenant)
          .insertInto('items')
          .values({ id, tenant_id: tenant, name })
          .onConflict((oc) => oc.column('id').doUpdateSet({ name }))
          .executeTakeFirst();
        if (r.numInsertedOrUpdatedRows !== 1n)
          log.violations.push(`${what}: upsert of ${id} (${tenant}) wrote ${r.numInsertedOrUpdatedRows}`);
        else lane.rows.set(id, { tenant, name });
        break;
      }
      case 3: {
        // delete a row of the lane
        if (live.length < 50) break;
        const id = anyLive();
        const row = lane.rows.get(id)!;
        const r = await ds.forTenant(row.tenant).deleteFrom('items').where('id', '=', id).executeTakeFirst();
        if (r.numDeletedRows !== 1n) log.violations.push(`${what}: delete of ${id} (${row.tenant}) removed ${r.numDeletedRows} rows`);
        lane.rows.delete(id);
        lane.deleted.add(id);
        break;
      }
      case 4: {
        // read the lane's rows of a tenant: exactly what the lane last committed (nobody else writes them)
        const tenant = pick(shape.tenants);
        const mine = [...lane.rows].filter(([, r]) => r.tenant === tenant).map(([id]) => id);
        const gone = [...lane.deleted].slice(-20);
        const seen = await ds
          .forTenant(tenant)
          .selectFrom('items')
          .select(['id', 'tenant_id', 'name'])
          .where('id', 'in', [...mine, ...gone, -1])
          .orderBy('id')
          .execute();
        // ids are never reused: a deleted row must stay gone
        const expected = mine.sort((a, b) => a - b).map((id) => ({ id, tenant_id: tenant, name: lane.rows.get(id)!.name }));
        if (JSON.stringify(seen) !== JSON.stringify(expected)) {
          const seenIds = seen.map((r) => r.id);
          const missing = expected.filter((r) => !seenIds.includes(r.id)).map((r) => r.id);
          const extra = seenIds.filter((id) => !lane.rows.has(id));
          log.violations.push(`${what}: read of ${tenant}: missing ${missing.join(',')} extra ${extra.join(',')} (or stale values)`);
        }
        break;
      }
      case 5: {
        // increment a shared counter (row-lock contention with other lanes)
        const id = 1 + Math.floor(rnd() * shape.counters);
        const r = await ds
          .forTenant(seedTenant(shape, id))
          .updateTable('items')
          .set((eb) => ({ qty: eb('qty', '+', 1) }))
          .where('id', '=', id)
          .executeTakeFirst();
        if (r.numUpdatedRows !== 1n) log.violations.push(`${what}: counter ${id} increment changed ${r.numUpdatedRows} rows`);
        else log.counters.set(id, (log.counters.get(id) ?? 0) + 1);
        break;
      }
      default:
        await multiStatementUnit(ds, lane, log, rnd, shape, what);
        break;
    }
  } catch (e) {
    log.failures.push(`${what}: ${describeError(e)}`);
  }
}

/**
 * A unit of several statements in one `withTenant`: read a row, update it, bump one of the tenant's counters
 * (unless `counter` is false), insert a row and a note (`<notePrefix><lane>:note:<version>`), maybe delete a row.
 * Returns whether it committed (its effects then recorded; what it saw wrong in `log.violations`); false when the
 * lane had too few rows of the tenant picked. A failure is thrown (nothing recorded).
 */
export async function multiStatementUnit(
  ds: PostgresDataSource<TestDB>,
  lane: Lane,
  log: UnitLog,
  rnd: () => number,
  shape: LoadShape,
  what: string,
  o: { counter: boolean; notePrefix: string } = { counter: true, notePrefix: 'L' },
): Promise<boolean> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const tenant = pick(shape.tenants);
  const mine = [...lane.rows].filter(([, r]) => r.tenant === tenant).map(([id]) => id);
  if (mine.length < 2) return false;
  const target = pick(mine);
  let victim: number | undefined = pick(mine);
  if (victim === target || rnd() < 0.5) victim = undefined;
  // one of the tenant's counters (id % tenants = the tenant's index; ids start at 1)
  const k = Math.floor(rnd() * (shape.counters / shape.tenants.length));
  const t = shape.tenants.indexOf(tenant);
  const counterId = t === 0 ? shape.tenants.length * (k + 1) : t + shape.tenants.length * k;
  const insertId = newId(shape, lane);
  const version = ++lane.version;
  const updated = nameOf(shape, lane.index, target, version);
  const inserted = nameOf(shape, lane.index, insertId, version);
  const note = `${o.notePrefix}${lane.index}:note:${version}`;
  const problems = await ds.withTenant(tenant, async (trx) => {
    const out: string[] = [];
    const before = await trx.selectFrom('items').select(['name']).where('id', '=', target).executeTakeFirst();
    if (before?.name !== lane.rows.get(target)!.name) out.push(`read ${target} gave ${before?.name.slice(0, 30) ?? 'nothing'}`);
    const u = await trx.updateTable('items').set({ name: updated }).where('id', '=', target).executeTakeFirst();
    if (u.numUpdatedRows !== 1n) out.push(`update ${target} changed ${u.numUpdatedRows}`);
    if (o.counter) {
      const c = await trx
        .updateTable('items')
        .set((eb) => ({ qty: eb('qty', '+', 1) }))
        .where('id', '=', counterId)
        .executeTakeFirst();
      if (c.numUpdatedRows !== 1n) out.push(`counter ${counterId} changed ${c.numUpdatedRows}`);
    }
    await trx.insertInto('items').values({ id: insertId, tenant_id: tenant, name: inserted }).execute();
    await trx.insertInto('notes').values({ tenant_id: tenant, body: note }).execute();
    if (victim !== undefined) {
      const d = await trx.deleteFrom('items').where('id', '=', victim).executeTakeFirst();
      if (d.numDeletedRows !== 1n) out.push(`delete ${victim} removed ${d.numDeletedRows}`);
    }
    return out;
  });
  // committed: record every effect, then report what the unit saw wrong
  lane.rows.get(target)!.name = updated;
  if (o.counter) log.counters.set(counterId, (log.counters.get(counterId) ?? 0) + 1);
  lane.rows.set(insertId, { tenant, name: inserted });
  lane.notes.set(note, tenant);
  if (victim !== undefined) {
    lane.rows.delete(victim);
    lane.deleted.add(victim);
  }
  for (const p of problems) log.violations.push(`${what} (${tenant}): ${p}`);
  return true;
}

/** What {@link expectAcknowledgedState} checks against. */
export interface ExpectedState {
  readonly shape: LoadShape;
  readonly lanes: readonly Lane[];
  readonly counters: Map<number, number>;
  /** Rows and notes written outside the lanes (acknowledged, so they must be there too). */
  readonly extraRows?: ReadonlyMap<number, Row>;
  readonly extraNotes?: ReadonlyMap<string, string>;
  /** Every row must carry its tenant's canonical tag under this key. */
  readonly keyId: string;
  /** The failing seed, for every message. */
  readonly ctx: string;
}

/**
 * Checks, read as the superuser, what every stress test must end with: FORCE on both tables; every row on its
 * tenant's canonical tag under `keyId`; every acknowledged write there with its last value, no deleted row back, no
 * row nobody acknowledged; counter totals and notes as acknowledged. Returns the rows and the expected notes.
 */
export async function expectAcknowledgedState(
  pool: pg.Pool,
  e: ExpectedState,
): Promise<{ rows: Array<{ id: number; tenant_id: string; name: string; qty: number }>; notes: Map<string, string> }> {
  const { ctx } = e;
  const forced = await pool.query(`select relname, relforcerowsecurity from pg_class where relname in ('items', 'notes') order by 1`);
  expect(forced.rows, ctx).toEqual([
    { relname: 'items', relforcerowsecurity: true },
    { relname: 'notes', relforcerowsecurity: true },
  ]);
  for (const table of ['items', 'notes']) {
    const wrong = await pool.query(
      `select id, tenant_id from ${table} where tenant_tag is distinct from stellaops_security.tenant_tag(tenant_id, $1) order by id limit 20`,
      [e.keyId],
    );
    expect(wrong.rows, `${ctx} ${table} rows not on ${e.keyId}`).toEqual([]);
  }
  const all = await pool.query<{ id: number; tenant_id: string; name: string; qty: number }>(
    'select id, tenant_id, name, qty from items order by id',
  );
  const actual = new Map(all.rows.map((r) => [r.id, r]));
  const expected = new Map<number, Row>(e.extraRows ?? []);
  for (const lane of e.lanes) for (const [id, row] of lane.rows) expected.set(id, row);
  const lost: string[] = [];
  for (const [id, row] of expected) {
    const got = actual.get(id);
    if (got?.tenant_id !== row.tenant || got.name !== row.name)
      lost.push(
        `${id}: expected ${row.tenant} ${row.name.slice(0, 24)}, found ${got ? `${got.tenant_id} ${got.name.slice(0, 24)}` : 'nothing'}`,
      );
  }
  expect(lost.slice(0, 20), ctx).toEqual([]);
  const resurrected = e.lanes.flatMap((l) => [...l.deleted].filter((id) => !l.rows.has(id) && actual.has(id)));
  expect(resurrected, ctx).toEqual([]);
  const unknown = all.rows.filter((r) => r.id > e.shape.counters && !expected.has(r.id)).map((r) => r.id);
  expect(unknown, ctx).toEqual([]);
  const counters = all.rows.filter((r) => r.id <= e.shape.counters).map((r) => [r.id, r.qty]);
  expect(counters, ctx).toEqual(Array.from({ length: e.shape.counters }, (_, i) => [i + 1, e.counters.get(i + 1) ?? 0]));
  const notes = await pool.query<{ body: string; tenant_id: string }>(
    `select body, tenant_id from notes where body not like 'seed note %'`,
  );
  const expectedNotes = new Map([...(e.extraNotes ?? []), ...e.lanes.flatMap((l) => [...l.notes])]);
  expect(new Map(notes.rows.map((r) => [r.body, r.tenant_id])), ctx).toEqual(expectedNotes);
  return { rows: all.rows, notes: expectedNotes };
}
