// Key rotation step 3 under load: services signing with the new key alone (k2) keep inserting, updating, upserting,
// deleting and reading rows of random tenants, and a lagging service still signing with the old key alone (k1) keeps
// writing its own rows, while retireTenantKey removes k1, waits for the transactions open at the removal (two of them
// REPEATABLE READ, holding a k1 proof from before the removal and writing after it) and re-tags what the lagging
// service wrote. No unit of a current service may fail; every acknowledged write must survive with its last value;
// every row must end up on its tenant's canonical k2 tag; the lagging service must fail closed afterwards.
import { setTimeout as sleep } from 'node:timers/promises';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDataSource,
  installTenantKey,
  listTenantKeyIds,
  PoolRegistry,
  retagTenantRows,
  retireTenantKey,
  TenantKey,
  type PostgresDataSource,
  type RetireResult,
} from '../src/index.js';
import {
  codeOf,
  describeError,
  expectAcknowledgedState,
  multiStatementUnit,
  nameOf,
  newId,
  prng,
  randomUnit,
  SEED,
  seedLoad,
  type Lane,
  type LoadShape,
  type Row,
} from './support/rotation-load.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, type TestDB } from './support/schema.js';

const db = useTestDatabase({ migrations: coreRlsMigrations });
const opened: Array<PostgresDataSource<TestDB>> = [];
const K2 = new TenantKey('k2', 'the-rotated-tenant-key-for-the-online-retire-0123456789');
/** "k1": the key the fixture installed, the one retired. */
const fixtureKey = (): TenantKey => new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);

const TENANTS = SEED.tenants;
const SEED_ROWS = SEED.rows;
/** Rows every current lane may increment (`qty + 1`, commutative): they get row-lock contention between units. */
const COUNTERS = SEED.counters;
/** Services signing with k2 alone (the step-3 deployment), and their lanes. */
const CURRENT_SERVICES = 3;
const LANES_PER_SERVICE = 3;
const CURRENT_LANES = CURRENT_SERVICES * LANES_PER_SERVICE;
/** Lanes of the one lagging service (k1 alone); their indexes follow the current lanes'. */
const LAGGING_LANES = 2;
const LANES = CURRENT_LANES + LAGGING_LANES;
/** Writes the lagging service must have acknowledged before the retire begins. */
const LAGGING_ACKS_BEFORE = 60;
/** Units each lane runs after the retire resolved (the run ends by work done, never by wall time). */
const EXTRA_UNITS = 25;
const EXTRA_LAGGING_UNITS = 12;
/** Lanes stop anyway after this many units (a retire that never resolves then fails the test, it does not hang it). */
const MAX_UNITS = 4000;
/** Rows (and notes) of the REPEATABLE READ transactions that hold a k1 proof across the removal: ids from here. */
const RR_BASE = 900_000;
const RR_TENANTS = ['r0', 'r3'];

/** 0: the retire was not called yet (k1 installed); 1: it runs; 2: it resolved. */
type Phase = 0 | 1 | 2;

interface Shared {
  phase: Phase;
  readonly counters: Map<number, number>;
  /** Units of current services that threw (none may). */
  readonly failures: string[];
  /** Units of the lagging service that threw something other than the policy's 42501. */
  readonly laggingErrors: string[];
  readonly violations: string[];
  readonly lagging: {
    /** Writes acknowledged while the retire was not called yet, and while it ran. */
    acksBefore: number;
    acksDuring: number;
    /** Units refused (42501, nothing updated or deleted, nothing read) while it ran, and after it resolved. */
    closedDuring: number;
    closedAfter: number;
  };
}

const isLagging = (lane: Lane): boolean => lane.index >= CURRENT_LANES;

function openService(keys: { tenantKey: TenantKey; previousTenantKey?: TenantKey }, max = 4): PostgresDataSource<TestDB> {
  const ds = createDataSource<TestDB>(
    { connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }), pool: { max }, ...keys },
    { registry: new PoolRegistry() },
  );
  opened.push(ds);
  return ds;
}

const SHAPE: LoadShape = { tenants: TENANTS, lanes: LANES, counters: COUNTERS, pad: SEED.pad };

/**
 * One random unit of a lagging (k1-only) lane. It only ever sees its own rows (k1-tagged; the k2 rows are not
 * visible to a k1 proof). Before the retire it must work exactly like a current unit; while the retire runs it may
 * be refused; once the retire resolved every unit must be refused: writes 42501 (the proof no longer verifies) or
 * nothing updated/deleted (its rows now carry k2 tags), reads empty.
 */
async function laggingUnit(ds: PostgresDataSource<TestDB>, lane: Lane, shared: Shared, rnd: () => number): Promise<void> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const started = shared.phase;
  const live = [...lane.rows.keys()];
  let kind = Math.floor(rnd() * 6);
  if ((kind === 1 || kind === 3) && live.length < 10) kind = 0;
  const what = `lagging lane ${lane.index} unit ${lane.units} kind ${kind} (phase ${started})`;
  // a write committed: counted by when it was acknowledged; one acknowledged after the retire resolved is a violation
  const acknowledged = (): void => {
    if (started === 2) shared.violations.push(`${what}: a write under the retired key was acknowledged after the retire resolved`);
    if (shared.phase === 0) shared.lagging.acksBefore++;
    else shared.lagging.acksDuring++;
  };
  // the unit was refused; before the retire was even called that is a violation (k1 is installed)
  const refused = (how: string): void => {
    if (shared.phase === 0) shared.violations.push(`${what}: refused before the retire began: ${how}`);
    else if (started === 2) shared.lagging.closedAfter++;
    else shared.lagging.closedDuring++;
  };
  try {
    switch (kind) {
      case 0: {
        const id = newId(SHAPE, lane);
        const row = { tenant: pick(TENANTS), name: nameOf(SHAPE, lane.index, id, ++lane.version) };
        await ds.forTenant(row.tenant).insertInto('items').values({ id, tenant_id: row.tenant, name: row.name }).execute();
        lane.rows.set(id, row);
        acknowledged();
        break;
      }
      case 1: {
        const id = pick(live);
        const row = lane.rows.get(id)!;
        const name = nameOf(SHAPE, lane.index, id, ++lane.version);
        const r = await ds.forTenant(row.tenant).updateTable('items').set({ name }).where('id', '=', id).executeTakeFirst();
        if (r.numUpdatedRows === 1n) {
          row.name = name;
          acknowledged();
        } else refused(`update of ${id} changed ${r.numUpdatedRows} rows`);
        break;
      }
      case 2: {
        const existing = live.length > 0 && rnd() < 0.6;
        const id = existing ? pick(live) : newId(SHAPE, lane);
        const tenant = existing ? lane.rows.get(id)!.tenant : pick(TENANTS);
        const name = nameOf(SHAPE, lane.index, id, ++lane.version);
        const r = await ds
          .forTenant(tenant)
          .insertInto('items')
          .values({ id, tenant_id: tenant, name })
          .onConflict((oc) => oc.column('id').doUpdateSet({ name }))
          .executeTakeFirst();
        if (r.numInsertedOrUpdatedRows === 1n) {
          lane.rows.set(id, { tenant, name });
          acknowledged();
        } else refused(`upsert of ${id} wrote ${r.numInsertedOrUpdatedRows}`);
        break;
      }
      case 3: {
        const id = pick(live);
        const row = lane.rows.get(id)!;
        const r = await ds.forTenant(row.tenant).deleteFrom('items').where('id', '=', id).executeTakeFirst();
        if (r.numDeletedRows === 1n) {
          lane.rows.delete(id);
          lane.deleted.add(id);
          acknowledged();
        } else refused(`delete of ${id} removed ${r.numDeletedRows} rows`);
        break;
      }
      case 4: {
        const tenant = pick(TENANTS);
        const mine = [...lane.rows].filter(([, r]) => r.tenant === tenant).map(([id]) => id);
        const gone = [...lane.deleted].slice(-20);
        const seen = await ds
          .forTenant(tenant)
          .selectFrom('items')
          .select(['id', 'tenant_id', 'name'])
          .where('id', 'in', [...mine, ...gone, -1])
          .orderBy('id')
          .execute();
        const expected = mine.sort((a, b) => a - b).map((id) => ({ id, tenant_id: tenant, name: lane.rows.get(id)!.name }));
        if (started === 2) {
          // the retire resolved before this unit began: the retired key opens nothing any more
          if (seen.length > 0) shared.violations.push(`${what}: read of ${tenant} after the retire saw ${seen.map((r) => r.id).join(',')}`);
          else refused('read nothing');
        } else if (shared.phase === 0) {
          if (JSON.stringify(seen) !== JSON.stringify(expected))
            shared.violations.push(`${what}: read of ${tenant} before the retire: ${seen.length} rows, expected ${expected.length}`);
        } else {
          // while the final re-tag moves them, some or none may still be visible; never a wrong value or a deleted row
          const wrong = seen.filter((r) => JSON.stringify(r) !== JSON.stringify(expected.find((x) => x.id === r.id)));
          if (wrong.length > 0)
            shared.violations.push(`${what}: read of ${tenant} saw ${wrong.map((r) => r.id).join(',')} wrong or deleted`);
        }
        break;
      }
      default: {
        // several statements (no shared counter): committed means its inserts verified k1, so the retire's re-tag
        // cannot have begun before it ended (the wait): every statement of it saw the lane's rows
        if (await multiStatementUnit(ds, lane, shared, rnd, SHAPE, what, { counter: false, notePrefix: 'G' })) acknowledged();
      }
    }
  } catch (e) {
    if (codeOf(e) === '42501') refused(describeError(e));
    else shared.laggingErrors.push(`${what}: ${describeError(e)}`);
  }
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ds) => ds.close()));
});

describe('online key retirement under load (key rotation step 3)', () => {
  it('current services keep working while retireTenantKey removes the old key, waits and re-tags: no unit fails, no write is lost, every row ends on the new key, the lagging service fails closed', async () => {
    const seed = Number(process.env.RETIRE_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const ctx = `seed ${seed}`;
    const k1 = fixtureKey();
    const owner = new pg.Client(db.server.urlFor(db.database));
    await owner.connect();
    const rrClients = RR_TENANTS.map(() => new pg.Client(db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD })));
    await Promise.all(rrClients.map((c) => c.connect()));
    try {
      // 1. ~3000 rows of ~450 bytes (some 200 pages) and a few notes, tagged with k1 by the fill trigger; then steps 1-2
      const lanes = await seedLoad(db.pool, SHAPE, CURRENT_LANES);
      await installTenantKey(db.pool, K2);
      expect(
        (await retagTenantRows(owner, K2.keyId)).map((p) => [p.table, p.rows]),
        ctx,
      ).toEqual([
        ['public.items', SEED_ROWS],
        ['public.notes', SEED.notes],
      ]);
      expect((await listTenantKeyIds(db.pool)).sort(), ctx).toEqual([k1.keyId, K2.keyId].sort());
      const pages = (await db.pool.query(`select pg_relation_size('items') / 8192 as pages`)).rows[0]?.pages as string;
      expect(Number(pages), ctx).toBeGreaterThan(100);

      const shared: Shared = {
        phase: 0,
        counters: new Map(),
        failures: [],
        laggingErrors: [],
        violations: [],
        lagging: { acksBefore: 0, acksDuring: 0, closedDuring: 0, closedAfter: 0 },
      };

      const current = Array.from({ length: CURRENT_SERVICES }, () => openService({ tenantKey: K2 }));
      const lagging = openService({ tenantKey: k1 }, LAGGING_LANES);

      // the rows of the REPEATABLE READ transactions, written by the lagging service before anything runs
      const rr = { rows: new Map<number, Row>(), notes: new Map<string, string>(), results: [] as string[] };
      for (const [i, tenant] of RR_TENANTS.entries()) {
        const row = { tenant, name: `rr ${i} before` };
        await lagging
          .forTenant(tenant)
          .insertInto('items')
          .values({ id: RR_BASE + i, tenant_id: tenant, name: row.name })
          .execute();
        rr.rows.set(RR_BASE + i, row);
        shared.lagging.acksBefore++;
      }

      // 2. the load: current lanes and lagging lanes, until each ran its extra units after the retire resolved
      const runLane = async (lane: Lane): Promise<void> => {
        const rnd = prng(seed + lane.index * 7919);
        const extraUnits = isLagging(lane) ? EXTRA_LAGGING_UNITS : EXTRA_UNITS;
        let extra = 0;
        while (extra < extraUnits && lane.units < MAX_UNITS) {
          if (shared.phase === 2) extra++;
          if (isLagging(lane)) await laggingUnit(lagging, lane, shared, rnd);
          else await randomUnit(current[Math.floor(lane.index / LANES_PER_SERVICE)]!, lane, shared, rnd, SHAPE, ` (phase ${shared.phase})`);
          lane.units++;
        }
      };
      const load = Promise.all(lanes.map(runLane));

      // 3. the retire, once the services got going and the lagging one had writes acknowledged
      const waits: number[] = [];
      let waitingBegan!: () => void;
      const waiting = new Promise<void>((resolve) => (waitingBegan = resolve));
      let retireOutcome: { result?: RetireResult; error?: unknown } = {};
      const retire = (async () => {
        const capped = (): boolean => lanes.some((l) => l.units >= MAX_UNITS);
        while ((shared.lagging.acksBefore < LAGGING_ACKS_BEFORE || lanes.reduce((n, l) => n + l.units, 0) < LANES * 5) && !capped())
          await sleep(5);
        // transactions holding a k1 proof (their snapshot has k1) from before the removal
        for (const [i, c] of rrClients.entries()) {
          await c.query('begin isolation level repeatable read');
          await c.query(`select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)`, [
            RR_TENANTS[i],
            k1.proofFor(RR_TENANTS[i]!),
          ]);
        }
        shared.phase = 1;
        try {
          retireOutcome = {
            result: await retireTenantKey(owner, k1.keyId, {
              batchPages: 8,
              lockTimeoutMs: 100,
              waitTimeoutMs: 15_000,
              onWait: (open) => {
                waits.push(open);
                waitingBegan();
              },
            }),
          };
        } catch (error) {
          retireOutcome = { error };
        } finally {
          shared.phase = 2;
        }
      })();
      // the REPEATABLE READ transactions write once the retire waits for them (k1 is removed by then); should it not
      // wait, they write after it resolved, leaving rows under k1 behind
      const repeatableRead = Promise.all(
        rrClients.map(async (c, i) => {
          await Promise.race([waiting, retire]);
          const tenant = RR_TENANTS[i]!;
          try {
            const removed = !(await listTenantKeyIds(db.pool)).includes(k1.keyId);
            const name = `rr ${i} after the removal`;
            await c.query(`insert into items (id, tenant_id, name) values ($1, $2, $3)`, [RR_BASE + 10 + i, tenant, name]);
            // the second one also updates its row from before (the first one only inserts)
            const updated = i % 2 === 1 ? (await c.query(`update items set name = $1 where id = $2`, [name, RR_BASE + i])).rowCount : 0;
            await c.query(`insert into notes (tenant_id, body) values ($1, $2)`, [tenant, `rr:${i}`]);
            await c.query('commit');
            rr.rows.set(RR_BASE + 10 + i, { tenant, name });
            if (updated === 1) rr.rows.set(RR_BASE + i, { tenant, name });
            rr.notes.set(`rr:${i}`, tenant);
            rr.results.push(`${i}: committed, k1 removed before its writes: ${removed}, updated ${updated}`);
          } catch (e) {
            await c.query('rollback').catch(() => undefined);
            rr.results.push(`${i}: ${describeError(e)}`);
          }
        }),
      );
      await Promise.all([load, retire, repeatableRead]);

      // the retire resolved: it removed k1, waited for the transactions open at the removal and moved the k1 rows
      expect(retireOutcome.error, ctx).toBeUndefined();
      const result = retireOutcome.result!;
      expect(result, ctx).toMatchObject({ removed: true, to: K2.keyId });
      expect(result.waitedFor, ctx).toBeGreaterThanOrEqual(RR_TENANTS.length);
      expect(waits.length, ctx).toBeGreaterThanOrEqual(1);
      expect(rr.results.sort(), ctx).toEqual(
        RR_TENANTS.map((_, i) => `${i}: committed, k1 removed before its writes: true, updated ${i % 2}`),
      );
      expect(await listTenantKeyIds(db.pool), ctx).toEqual([K2.keyId]);

      // 4.-5. the load ran throughout and past the retire's end; no unit of a current service failed
      for (const lane of lanes)
        expect(lane.units, `${ctx} lane ${lane.index}`).toBeGreaterThanOrEqual((isLagging(lane) ? EXTRA_LAGGING_UNITS : EXTRA_UNITS) + 5);
      expect(Math.max(...lanes.map((l) => l.units)), ctx).toBeLessThan(MAX_UNITS);
      expect(shared.failures, ctx).toEqual([]);
      expect(shared.laggingErrors, ctx).toEqual([]);
      expect(shared.violations, ctx).toEqual([]);
      // meaningful: the lagging service wrote before the removal, and was refused after the retire
      expect(shared.lagging.acksBefore, ctx).toBeGreaterThanOrEqual(LAGGING_ACKS_BEFORE);
      expect(shared.lagging.closedAfter, ctx).toBeGreaterThan(0);

      // FORCE on, every row on its tenant's canonical k2 tag, every acknowledged write (the lanes' and the REPEATABLE
      // READ transactions') there with its last value, read as superuser; a refused insert left nothing
      const { rows: allRows, notes: expectedNotes } = await expectAcknowledgedState(db.pool, {
        shape: SHAPE,
        lanes,
        counters: shared.counters,
        extraRows: rr.rows,
        extraNotes: rr.notes,
        keyId: K2.keyId,
        ctx,
      });

      // the final re-tag moved exactly what was written under k1 and is still there: the lagging service's rows and
      // notes, and the REPEATABLE READ transactions' (nothing else writes k1 tags after step 2)
      const laggingIds = new Set([...rr.rows.keys(), ...lanes.filter(isLagging).flatMap((l) => [...l.rows.keys()])]);
      const laggingNotes = [...expectedNotes.keys()].filter((body) => !body.startsWith('L')).length;
      expect(
        result.tables.map((t) => [t.table, t.rows]),
        ctx,
      ).toEqual([
        ['public.items', laggingIds.size],
        ['public.notes', laggingNotes],
      ]);
      expect(laggingIds.size, ctx).toBeGreaterThan(RR_TENANTS.length * 2);

      // a k2-only service reads every row of each tenant; the retired key alone reads nothing
      const k2Only = openService({ tenantKey: K2 }, 2);
      for (const tenant of TENANTS) {
        const ids = allRows.filter((r) => r.tenant_id === tenant).map((r) => r.id);
        const seen = await k2Only.forTenant(tenant).selectFrom('items').select('id').orderBy('id').execute();
        expect(
          seen.map((r) => r.id),
          `${ctx} ${tenant}`,
        ).toEqual(ids);
        expect(ids.length, ctx).toBeGreaterThan(SEED_ROWS / TENANTS.length / 2);
        const seenNotes = await k2Only.forTenant(tenant).selectFrom('notes').select('id').execute();
        expect(seenNotes.length, `${ctx} ${tenant}`).toBe(
          Number((await db.pool.query('select count(*) from notes where tenant_id = $1', [tenant])).rows[0]?.count),
        );
        expect(await lagging.forTenant(tenant).selectFrom('items').select('id').execute(), `${ctx} ${tenant}`).toEqual([]);
        expect(await lagging.forTenant(tenant).selectFrom('notes').select('id').execute(), `${ctx} ${tenant}`).toEqual([]);
      }
    } finally {
      for (const c of rrClients) await c.query('rollback').catch(() => undefined);
      await Promise.all([owner.end(), ...rrClients.map((c) => c.end())]);
    }
  });
});
