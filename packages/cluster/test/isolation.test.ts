import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { SchemaMigrator } from '@stellaops/migrator';
import {
  createDataSource,
  installTenantKey,
  PoolRegistry,
  SECURITY_SCHEMA,
  securityMigrations,
  TenantKey,
  tenantIsolationSql,
  type PostgresDataSource,
} from '@stellaops/postgres-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, withClient, type TestCluster } from './helpers.js';

// postgres-core's data source (poolerMode transaction) through this cluster's PgBouncer,
// TLS verify-full: randomly interleaved tenant units, some failing midway, some leaving
// session state behind; every isolation violation is recorded.
interface DB {
  items: { id: number; tenant_id: string; name: string };
}

const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const UNITS = 1500;
const WORKERS = 16;

let t: TestCluster;
let ds: PostgresDataSource<DB>;
beforeAll(async () => {
  t = await startTestCluster();
  // the tenant proof as `stella-db cluster up` installs it (the CLI's security component): security migrations as the owner, a key
  const key = new TenantKey('k1', randomBytes(32).toString('base64url'));
  await new SchemaMigrator({ connectionString: t.info.owner.url, schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
  await withClient(t.config('owner', 'direct'), async (c) => {
    await installTenantKey(c, key);
    await c.query('create table items (id int primary key, tenant_id text not null, name text not null)');
    for (const s of tenantIsolationSql({ table: 'items' })) await c.query(s);
    await c.query('grant select, insert, update, delete on items to stellaops_app');
  });
  ds = createDataSource<DB>(
    {
      connectionString: t.info.app.envLines[0]!.replace(/^Postgres__ConnectionString=/, ''),
      tls: { caFile: t.ctx.layout.tls.caCert },
      poolerMode: 'transaction',
      pool: { max: 24 },
      tenantKey: key,
    },
    { registry: new PoolRegistry() },
  );
});
afterAll(async () => {
  await ds?.close();
  await t?.destroy();
});

class Boom extends Error {}

describe('tenant isolation through the cluster PgBouncer', () => {
  it('holds under random interleaved units, failures and leaked session state', async () => {
    const violations: string[] = [];
    const committed = new Map<number, string>();
    const rolledBack = new Set<number>();
    let nextId = 1;
    const check = (where: string, tenant: string | undefined, rows: { tenant_id: string }[]) => {
      for (const r of rows) if (r.tenant_id !== tenant) violations.push(`${where}: ${tenant ?? '(none)'} saw ${r.tenant_id}`);
    };
    const one = async () => {
      const tenant = TENANTS[Math.floor(Math.random() * TENANTS.length)]!;
      const id = nextId++;
      switch (id % 6) {
        case 0:
          await ds.withTenant(tenant, async (trx) => {
            await trx
              .insertInto('items')
              .values({ id, tenant_id: tenant, name: `n${id}` })
              .execute();
            check('after write', tenant, await trx.selectFrom('items').select('tenant_id').execute());
          });
          committed.set(id, tenant);
          break;
        case 1:
          try {
            await ds.withTenant(tenant, async (trx) => {
              await trx.insertInto('items').values({ id, tenant_id: tenant, name: 'rb' }).execute();
              throw new Boom();
            });
          } catch (e) {
            if (!(e instanceof Boom)) throw e;
            rolledBack.add(id);
          }
          break;
        case 2:
          check('single', tenant, await ds.forTenant(tenant).selectFrom('items').select('tenant_id').execute());
          break;
        case 3: {
          const rows = await ds.db.selectFrom('items').select('tenant_id').execute();
          if (rows.length > 0) violations.push(`unscoped saw ${rows.length} rows`);
          break;
        }
        case 4:
          // a unit that leaves session state behind (the data source refuses a session-wide app.tenant_id, so another key): DISCARD ALL must wipe it
          await ds.withTenant(tenant, (trx) => sql`select set_config('app.leaked', ${tenant}, false)`.execute(trx));
          break;
        default: {
          const s = await sql<{
            v: string | null;
            leaked: string | null;
          }>`select current_setting('app.tenant_id', true) as v, current_setting('app.leaked', true) as leaked`.execute(ds.db);
          if (s.rows[0]?.v) violations.push(`unscoped statement saw tenant ${s.rows[0].v}`);
          if (s.rows[0]?.leaked) violations.push(`session state of an earlier unit leaked: ${s.rows[0].leaked}`);
        }
      }
    };
    let done = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (done < UNITS) {
          done++;
          await one();
        }
      }),
    );
    expect(violations).toEqual([]);
    await withClient(t.config('owner', 'direct'), async (c) => {
      await c.query('alter table items no force row level security');
      const rows = new Map((await c.query('select id, tenant_id from items')).rows.map((r) => [r.id as number, r.tenant_id as string]));
      expect([...committed].filter(([id, tenant]) => rows.get(id) !== tenant)).toEqual([]);
      expect([...rolledBack].filter((id) => rows.has(id))).toEqual([]);
      await c.query('alter table items force row level security');
    });
  });

  it('with the default --pooler-reset driver, state a unit leaves (even one whose statement failed) never reaches the next client', async () => {
    // PgBouncer runs no reset between transactions here: the data layer's own in-transaction cleanup is what holds
    await ds.withTenant('t1', (trx) => sql`select set_config('app.leaked', 'unit', false), pg_advisory_lock(7701)`.execute(trx));
    await ds
      .forTenant('t2')
      .executeQuery(sql`select set_config('app.leaked', 'failed', false), pg_advisory_lock(7702), 1 / (random() * 0)::int`.compile(ds.db))
      .then(
        () => expect.fail('division by zero expected'),
        (e: unknown) => expect(e).toMatchObject({ sqlState: '22012' }),
      );
    const seen = await Promise.all(
      Array.from({ length: 40 }, () =>
        withClient(
          t.config('app', 'pgbouncer'),
          async (c) => (await c.query(`select current_setting('app.leaked', true) as leaked`)).rows[0],
        ),
      ),
    );
    expect(seen.filter((s) => (s.leaked ?? '') !== '')).toEqual([]);
    const admin = await t.admin('stellaops');
    try {
      const held = await admin.query(`select objid::int as key from pg_locks where locktype = 'advisory' and objid in (7701, 7702)`);
      expect(held.rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
