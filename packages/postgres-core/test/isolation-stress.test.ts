import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, PoolRegistry, type PoolerMode, type PostgresDataSource } from '../src/index.js';
import { findPgBouncer, PgBouncer } from './support/embedded-pg.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, ensureTestRole, type TestDB } from './support/schema.js';
import { skipUnlessInstalled } from '@stellaops/vitest-config';

const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const WORKERS = 8;
const POOL = 4;

interface Outcome {
  units: number;
  violations: string[];
  committed: Map<number, string>;
  rolledBack: Set<number>;
  failures: number;
}

class Boom extends Error {}

/** Thousands of randomly interleaved tenant units, some failing midway; records every isolation violation. */
async function stress(ds: PostgresDataSource<TestDB>, units: number, idBase: number, neighbor?: () => Promise<void>): Promise<Outcome> {
  const out: Outcome = { units: 0, violations: [], committed: new Map(), rolledBack: new Set(), failures: 0 };
  let nextId = idBase;
  const check = (where: string, tenant: string | undefined, rows: Array<{ tenant_id: string }>) => {
    for (const r of rows) if (r.tenant_id !== tenant) out.violations.push(`${where}: ${tenant ?? '(none)'} saw a row of ${r.tenant_id}`);
  };
  const one = async (): Promise<void> => {
    const t = TENANTS[Math.floor(Math.random() * TENANTS.length)]!;
    const kind = Math.floor(Math.random() * 7);
    const id = nextId++;
    switch (kind) {
      case 0: // read unit, several statements
        await ds.withTenant(t, async (trx) => {
          check('unit read 1', t, await trx.selectFrom('items').select('tenant_id').execute());
          const s = await sql<{ v: string }>`select current_setting('app.tenant_id', true) v`.execute(trx);
          if (s.rows[0]?.v !== t) out.violations.push(`unit setting: ${t} saw ${s.rows[0]?.v}`);
          check('unit read 2', t, await trx.selectFrom('notes').select('tenant_id').execute());
        });
        break;
      case 1: // write unit that commits
        await ds.withTenant(t, async (trx) => {
          await trx
            .insertInto('items')
            .values({ id, tenant_id: t, name: `n${id}` })
            .execute();
          check('unit after write', t, await trx.selectFrom('items').select('tenant_id').where('id', '>=', idBase).execute());
        });
        out.committed.set(id, t);
        break;
      case 2: // write unit that throws midway (rollback)
        try {
          await ds.withTenant(t, async (trx) => {
            await trx.insertInto('items').values({ id, tenant_id: t, name: 'rb' }).execute();
            throw new Boom();
          });
        } catch (e) {
          if (!(e instanceof Boom)) throw e;
          out.rolledBack.add(id);
        }
        break;
      case 3: // unit failing on the server midway (division by zero), must roll back
        try {
          await ds.withTenant(t, async (trx) => {
            await trx.insertInto('items').values({ id, tenant_id: t, name: 'err' }).execute();
            await sql`select 1 / (random() * 0)::int`.execute(trx);
          });
        } catch {
          out.failures++;
          out.rolledBack.add(id);
        }
        break;
      case 4: // single tenant statement
        check('single', t, await ds.forTenant(t).selectFrom('items').select('tenant_id').execute());
        break;
      case 5: {
        // unscoped: must see nothing
        const rows = await ds.db.selectFrom('items').select('tenant_id').execute();
        if (rows.length > 0) out.violations.push(`unscoped saw ${rows.length} rows`);
        const s = await sql<{ v: string | null }>`select current_setting('app.tenant_id', true) v`.execute(ds.db);
        if (s.rows[0]?.v) out.violations.push(`unscoped setting was ${s.rows[0]?.v}`);
        break;
      }
      default: // single statement write that fails the RLS check (other tenant's row)
        try {
          await ds
            .forTenant(t)
            .insertInto('items')
            .values({ id, tenant_id: t === 't0' ? 't1' : 't0', name: 'x' })
            .execute();
          out.violations.push(`${t} inserted a row for another tenant`);
        } catch {
          out.rolledBack.add(id);
        }
    }
    if (neighbor && Math.random() < 0.1) await neighbor();
  };
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (out.units < units) {
        out.units++;
        await one();
      }
    }),
  );
  return out;
}

async function verify(admin: pg.Pool, out: Outcome, idBase: number): Promise<void> {
  expect(out.violations).toEqual([]);
  const rows = await admin.query<{ id: number; tenant_id: string }>(`select id, tenant_id from items where id >= $1 and id < $2`, [
    idBase,
    idBase + 1_000_000,
  ]);
  const found = new Map(rows.rows.map((r) => [r.id, r.tenant_id]));
  expect(found.size).toBe(out.committed.size);
  for (const [id, t] of out.committed) expect(found.get(id)).toBe(t);
  for (const id of out.rolledBack) expect(found.has(id)).toBe(false);
  expect(out.committed.size).toBeGreaterThan(50);
  expect(out.rolledBack.size).toBeGreaterThan(50);
}

const db = useTestDatabase({ migrations: coreRlsMigrations, scope: 'file' });

function open(url: string, poolerMode: PoolerMode): PostgresDataSource<TestDB> {
  return createDataSource<TestDB>(
    { connectionString: url, pool: { max: POOL }, poolerMode, ...db.server.tenantKey },
    { registry: new PoolRegistry() },
  );
}

beforeAll(async () => {
  await ensureTestRole(db.server.adminConnectionString);
  // notes give the read units something per tenant to look at
  await db.pool.query(`insert into notes (tenant_id, body) select 't' || (g % 6), 'note' from generate_series(1, 60) g`);
});

describe('isolation under concurrency', () => {
  it('direct: 8 workers over a pool of 4, 3000 interleaved units, zero leaks', async () => {
    const ds = open(db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }), 'none');
    try {
      const out = await stress(ds, 3000, 1_000_000);
      await verify(db.pool, out, 1_000_000);
    } finally {
      await ds.close();
    }
  });

  describe('through PgBouncer 1.18 in transaction mode', () => {
    const bin = findPgBouncer();
    // these tests need Debian's pgbouncer 1.18 (scripts/bootstrap.sh installs it): skipped without it here, a failure in CI
    const SKIP_NO_PGBOUNCER = skipUnlessInstalled(bin ? [] : ['pgbouncer'], 'the PgBouncer isolation stress');
    let bouncer: PgBouncer | undefined;

    beforeAll(async () => {
      if (!bin) return;
      bouncer = await new PgBouncer(bin, { port: db.server.port, host: db.server.host }, { [APP_ROLE]: APP_PASSWORD }, POOL).start();
    });
    afterAll(async () => {
      await bouncer?.stop();
    });

    it.skipIf(SKIP_NO_PGBOUNCER)('2000 units with a hostile neighbour setting session tenants, zero leaks', async () => {
      const url = bouncer!.url(db.database, APP_ROLE, APP_PASSWORD);
      const ds = open(url, 'transaction');
      // A misbehaving client of the same PgBouncer: session-level SETs (the seed's design) that stay
      // on whatever server connection it got, to be inherited by the next client of that connection.
      const neighbour = new pg.Pool({ connectionString: url, max: 2 });
      const poison = async () => {
        await neighbour.query(`set app.tenant_id = 't5'`);
      };
      try {
        const out = await stress(ds, 2000, 2_000_000, poison);
        await verify(db.pool, out, 2_000_000);
        // the neighbour's SET really does leak between PgBouncer clients (the problem our design avoids)
        await Promise.all(Array.from({ length: 8 }, poison));
        const seen = await Promise.all(
          Array.from({ length: 8 }, () =>
            neighbour.query(`select current_setting('app.tenant_id', true) v`).then((r) => r.rows[0].v as string),
          ),
        );
        expect(seen).toContain('t5');
      } finally {
        await neighbour.end();
        await ds.close();
      }
    });

    it.skipIf(SKIP_NO_PGBOUNCER)('session defaults and statement timeout work without startup options', async () => {
      const ds = createDataSource<TestDB>(
        {
          connectionString: bouncer!.url(db.database, APP_ROLE, APP_PASSWORD),
          pool: { max: 2 },
          poolerMode: 'transaction',
          commandTimeoutSeconds: 1,
          schema: 'pgcore_app',
          ...db.server.tenantKey,
        },
        { registry: new PoolRegistry() },
      );
      try {
        const r = await sql<{
          tz: string;
          st: string;
          path: string;
        }>`select current_setting('TimeZone') tz, current_setting('statement_timeout') st, current_setting('search_path') path`.execute(
          ds.db,
        );
        expect(r.rows[0]).toEqual({ tz: 'UTC', st: '1s', path: 'pgcore_app,public' });
        const err = await ds.withTenant('t1', (trx) => sql`select pg_sleep(4)`.execute(trx)).catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe('STATEMENT_TIMEOUT');
      } finally {
        await ds.close();
      }
    });
  });
});
