import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHealth,
  createDataSource,
  DatabaseError,
  isRetryableError,
  PoolRegistry,
  tenantIsolationSql,
  type PostgresDataSource,
} from '../src/index.js';
import { EmbeddedPostgres } from './support/embedded-pg.js';
import { APP_PASSWORD, APP_ROLE, DEDICATED_TENANT_KEY, ensureTestRole, installSecurity, type TestDB } from './support/schema.js';

// This file needs its own server lifecycle (restart under load), so it runs a dedicated
// embedded PostgreSQL on /dev/shm instead of the shared fixture server.
let server: EmbeddedPostgres;
let admin: pg.Pool;

beforeAll(async () => {
  server = await new EmbeddedPostgres('pgcore-restart').start();
  await ensureTestRole(server.url());
  admin = new pg.Pool({ connectionString: server.url(), max: 2 });
  admin.on('error', () => undefined); // its idle connections are terminated by the restart too
  await installSecurity(admin, { database: 'postgres', key: DEDICATED_TENANT_KEY });
  await admin.query(`create table items (id int primary key, tenant_id text not null, name text not null)`);
  for (const s of tenantIsolationSql({ table: 'items' })) await admin.query(s);
  await admin.query(`grant select, insert, update, delete on items to ${APP_ROLE}`);
});

afterAll(async () => {
  await admin?.end();
  await server?.destroy();
});

describe('server restart under load', () => {
  it('fails in-flight work with retryable typed errors, keeps committed work, and the pool recovers', async () => {
    const ds: PostgresDataSource<TestDB> = createDataSource<TestDB>(
      {
        connectionString: server.url('postgres', APP_ROLE, APP_PASSWORD),
        pool: { max: 4 },
        connectionTimeoutSeconds: 5,
        ...DEDICATED_TENANT_KEY,
      },
      { registry: new PoolRegistry() },
    );
    const committed = new Set<number>();
    const errors: unknown[] = [];
    let restarted = false;
    let okAfterRestart = 0;
    let nextId = 1;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const id = nextId++;
        const tenant = `t${id % 3}`;
        try {
          await ds.withTenant(tenant, async (trx) => {
            await trx.insertInto('items').values({ id, tenant_id: tenant, name: 'x' }).execute();
            await sql`select pg_sleep(0.005)`.execute(trx);
          });
          committed.add(id);
          if (restarted) okAfterRestart++;
        } catch (e) {
          errors.push(e);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 400));
    const beforeRestart = committed.size;
    await server.restartAsync();
    restarted = true;
    const deadline = performance.now() + 15_000;
    while (okAfterRestart < 50 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(workers);

    expect(beforeRestart).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toBeInstanceOf(DatabaseError);
      expect(isRetryableError(e)).toBe(true);
    }
    expect(okAfterRestart).toBeGreaterThanOrEqual(50);
    const rows = await admin.query<{ id: number }>('select id from items');
    const present = new Set(rows.rows.map((r) => r.id));
    for (const id of committed) expect(present.has(id)).toBe(true);
    expect((await checkHealth(ds)).status).toBe('healthy');
    await ds.close();
  });
});
