// Key rotation steps 1 and 2 under load: services signing with the new key (and the previous one to read) keep
// inserting, updating, upserting, deleting and reading rows of random tenants on several pools while
// retagTenantRows re-tags the tables online in small page batches. Every acknowledged write must survive with its
// last value, every row must end up tagged with its tenant's new-key tag, no unit may fail, and FORCE must be back on.
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDataSource,
  installTenantKey,
  PoolRegistry,
  retagTenantRows,
  TenantKey,
  type PostgresDataSource,
  type RetagBatchProgress,
  type RetagProgress,
} from '../src/index.js';
import {
  describeError,
  expectAcknowledgedState,
  prng,
  randomUnit,
  SEED,
  seedLoad,
  type Lane,
  type LoadShape,
} from './support/rotation-load.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, OWNER_PASSWORD, tableOwner, type TestDB } from './support/schema.js';

const db = useTestDatabase({ migrations: coreRlsMigrations });
const opened: Array<PostgresDataSource<TestDB>> = [];
const K2 = new TenantKey('k2', 'the-rotated-tenant-key-for-the-online-retag-0123456789');
const fixtureKey = (): TenantKey => new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);

const TENANTS = SEED.tenants;
const SEED_ROWS = SEED.rows;
/** Rows every lane may increment (`qty + 1`, commutative): they get row-lock contention between units. */
const COUNTERS = SEED.counters;
const SERVICES = 4;
const LANES_PER_SERVICE = 3;
const LANES = SERVICES * LANES_PER_SERVICE;
/** Units each lane runs after the re-tag resolved (the run ends by work done, never by wall time). */
const EXTRA_UNITS = 25;
/** Lanes stop anyway after this many units (a re-tag that never resolves then fails the test, it does not hang it). */
const MAX_UNITS = 4000;

interface Shared {
  readonly counters: Map<number, number>;
  readonly failures: string[];
  readonly violations: string[];
  retagDone: boolean;
}

function openService(keys: { tenantKey: TenantKey; previousTenantKey?: TenantKey }, max = 4): PostgresDataSource<TestDB> {
  const ds = createDataSource<TestDB>(
    { connectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }), pool: { max }, ...keys },
    { registry: new PoolRegistry() },
  );
  opened.push(ds);
  return ds;
}

const SHAPE: LoadShape = { tenants: TENANTS, lanes: LANES, counters: COUNTERS, pad: SEED.pad };

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ds) => ds.close()));
});

describe('online re-tagging under load (key rotation steps 1 and 2)', () => {
  // as the tables' owner (subject to FORCE: each batch lifts it under the table lock) and as a superuser (bypasses row
  // security: row locks only)
  it.each(['owner', 'superuser'] as const)(
    'as %s: services keep writing and reading every tenant while retagTenantRows moves the rows: no unit fails, no write is lost, every row ends on the new key',
    async (as) => {
      const seed = Number(process.env.RETAG_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const ctx = `seed ${seed}`;
      // ~3000 rows of ~450 bytes (some 200 pages) and a few notes, tagged with the fixture key by the fill trigger
      const lanes = await seedLoad(db.pool, SHAPE, LANES);
      await installTenantKey(db.pool, K2);
      const pagesBefore = (await db.pool.query(`select pg_relation_size('items') / 8192 as pages`)).rows[0]?.pages as string;
      expect(Number(pagesBefore), ctx).toBeGreaterThan(100);

      const shared: Shared = { counters: new Map(), failures: [], violations: [], retagDone: false };

      const services = Array.from({ length: SERVICES }, () => openService({ tenantKey: K2, previousTenantKey: fixtureKey() }));
      const runLane = async (lane: Lane): Promise<void> => {
        const rnd = prng(seed + lane.index * 7919);
        const ds = services[Math.floor(lane.index / LANES_PER_SERVICE)]!;
        let extra = 0;
        while (extra < EXTRA_UNITS && lane.units < MAX_UNITS) {
          if (shared.retagDone) extra++;
          await randomUnit(ds, lane, shared, rnd, SHAPE);
          lane.units++;
        }
      };

      // the owner (a superuser session, no tenant context) increments counters too: an old-key row it updates keeps
      // its old tag and may land behind the re-tag's pass
      const ownerWrites = { acknowledged: 0, extra: 0 };
      const ownerPool = new pg.Pool({ connectionString: db.server.urlFor(db.database), max: 1 });
      const runOwner = async (): Promise<void> => {
        const rnd = prng(seed ^ 0x5eed);
        while (ownerWrites.extra < EXTRA_UNITS && ownerWrites.acknowledged < MAX_UNITS) {
          if (shared.retagDone) ownerWrites.extra++;
          const id = 1 + Math.floor(rnd() * COUNTERS);
          try {
            const r = await ownerPool.query('update items set qty = qty + 1 where id = $1', [id]);
            if (r.rowCount !== 1) shared.violations.push(`owner: counter ${id} increment changed ${r.rowCount} rows`);
            else shared.counters.set(id, (shared.counters.get(id) ?? 0) + 1);
          } catch (e) {
            shared.failures.push(`owner counter ${id}: ${describeError(e)}`);
          }
          ownerWrites.acknowledged++;
          await new Promise((r) => setTimeout(r, 5)); // a few rows, not a second hot loop
        }
      };

      if (as === 'owner') await tableOwner(db.pool, 'retag_online_owner');
      const retagClient = new pg.Client(
        as === 'owner'
          ? db.server.urlFor(db.database, { user: 'retag_online_owner', password: OWNER_PASSWORD })
          : db.server.urlFor(db.database),
      );
      await retagClient.connect();
      expect((await retagClient.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper, ctx).toBe(
        as === 'superuser',
      );
      const batches: RetagBatchProgress[] = [];
      const progress: RetagProgress[] = [];
      let retagOutcome: { result?: RetagProgress[]; error?: unknown };
      try {
        const retag = (async () => {
          // let the services get going first
          while (lanes.reduce((n, l) => n + l.units, 0) < LANES * 5) await new Promise((r) => setTimeout(r, 5));
          try {
            return {
              result: await retagTenantRows(retagClient, K2.keyId, {
                batchPages: 8,
                // the owner's batches wait for the table lock, at most 100 ms a try; the superuser's never wait for a
                // lock (they skip locked rows), so the default, above deadlock_timeout, must not matter
                ...(as === 'owner' ? { lockTimeoutMs: 100 } : {}),
                onBatch: (b) => batches.push(b),
                onProgress: (p) => progress.push(p),
              }),
            };
          } catch (error) {
            return { error };
          } finally {
            shared.retagDone = true;
          }
        })();
        await Promise.all([...lanes.map(runLane), runOwner(), retag]);
        retagOutcome = await retag;
      } finally {
        await retagClient.end();
        await ownerPool.end();
      }

      // the re-tag resolved, through more than one batch per pass, and moved the seed rows
      expect(retagOutcome.error, ctx).toBeUndefined();
      expect(retagOutcome.result, ctx).toEqual(progress);
      expect(
        progress.map((p) => p.table),
        ctx,
      ).toEqual(['public.items', 'public.notes']);
      expect(progress[0]!.rows, ctx).toBeGreaterThan(0);
      expect(batches.filter((b) => b.table === 'public.items' && b.phase === 'batch').length, ctx).toBeGreaterThan(10);
      // the services ran throughout, and past the re-tag's end
      for (const lane of lanes) expect(lane.units, `${ctx} lane ${lane.index}`).toBeGreaterThanOrEqual(EXTRA_UNITS + 5);
      expect(Math.min(...lanes.map((l) => l.units)), ctx).toBeLessThan(MAX_UNITS);

      // no unit failed (a lock wait is fine, an error is not: 42501 would be the policy rejecting a rotation write)
      expect(shared.failures, ctx).toEqual([]);
      expect(shared.violations, ctx).toEqual([]);

      // FORCE on, every row on its tenant's k2 tag, every acknowledged write there with its last value
      const { rows: allRows, notes: expectedNotes } = await expectAcknowledgedState(db.pool, {
        shape: SHAPE,
        lanes,
        counters: shared.counters,
        keyId: K2.keyId,
        ctx,
      });
      expect(expectedNotes.size, ctx).toBeGreaterThan(0);

      // step 3: the new key alone reads every row of each tenant, the old key alone none
      const nextOnly = openService({ tenantKey: K2 }, 2);
      const oldOnly = openService({ tenantKey: fixtureKey() }, 2);
      for (const tenant of TENANTS) {
        const ids = allRows.filter((r) => r.tenant_id === tenant).map((r) => r.id);
        const seen = await nextOnly.forTenant(tenant).selectFrom('items').select('id').orderBy('id').execute();
        expect(
          seen.map((r) => r.id),
          `${ctx} ${tenant}`,
        ).toEqual(ids);
        expect(ids.length, ctx).toBeGreaterThan(SEED_ROWS / TENANTS.length / 2);
        const seenNotes = await nextOnly.forTenant(tenant).selectFrom('notes').select('id').execute();
        expect(seenNotes.length, ctx).toBe(
          Number((await db.pool.query('select count(*) from notes where tenant_id = $1', [tenant])).rows[0]?.count),
        );
        expect(await oldOnly.forTenant(tenant).selectFrom('items').select('id').execute(), `${ctx} ${tenant}`).toEqual([]);
        expect(await oldOnly.forTenant(tenant).selectFrom('notes').select('id').execute(), `${ctx} ${tenant}`).toEqual([]);
      }
    },
  );

  // A writer still tagging with the old key (here a service instance signing with the old key only, as during an
  // unfinished step-1 deploy) puts a row behind the pass: the final sweep, one snapshot of the whole table, moves it.
  it('a row a lagging writer puts behind the batched pass is moved by the final sweep', async () => {
    await db.pool.query(
      `insert into items (id, tenant_id, name) select g, 'r' || (g % 3), repeat('x', 400) from generate_series(1, 200) g`,
    );
    await installTenantKey(db.pool, K2);
    const lagging = openService({ tenantKey: fixtureKey() }, 1);
    const owner = new pg.Client(db.server.urlFor(db.database));
    await owner.connect();
    let next = 10_000;
    const phases: string[] = [];
    try {
      // the lagging instance writes one row (old key) each time the re-tag looks up the table's size: before the
      // batched pass, and after it (before the sweep), where no batch will look again
      const interleaved = {
        query: async (text: string, values?: unknown[]) => {
          if (text.includes('pg_relation_size') && values?.[0] === 'public.items')
            await lagging
              .forTenant('r0')
              .insertInto('items')
              .values({ id: next, tenant_id: 'r0', name: `late ${next++}` })
              .execute();
          return owner.query(text, values);
        },
      };
      const result = await retagTenantRows(interleaved, K2.keyId, {
        batchPages: 4,
        onBatch: (b) => {
          if (b.table === 'public.items') phases.push(b.phase);
        },
      });
      // the batched pass (several batches of 4 pages), then the sweep
      expect(phases.length).toBeGreaterThan(2);
      expect(phases).toEqual([...phases.slice(0, -1).map(() => 'batch'), 'sweep']);
      expect(next).toBe(10_002); // one row before the pass, one behind it
      expect(result.find((p) => p.table === 'public.items')?.rows).toBe(202);
      const left = await db.pool.query(
        'select id from items where tenant_tag is distinct from stellaops_security.tenant_tag(tenant_id, $1) order by id',
        [K2.keyId],
      );
      expect(left.rows).toEqual([]);
    } finally {
      await owner.end();
    }
  });
});
