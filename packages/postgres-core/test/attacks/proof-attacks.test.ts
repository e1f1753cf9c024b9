// Attack suite, database half of issue 8: code running in (or injected into) a unit can send any SQL the app role
// may run. It must read and write only its own tenant's rows and leave nothing that changes later units.
// Each attack runs directly and through PgBouncer 1.18 (transaction pooling), as a raw client of the app role (the
// strongest form: no driver guard at all) and, where the driver lets the SQL through, inside a data source unit.
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAppRole,
  createDataSource,
  DatabaseError,
  installTenantKey,
  PoolRegistry,
  removeTenantKey,
  TenantKey,
  TenantKeyMissingError,
  type DataLayerLogger,
  type PoolerMode,
  type PostgresDataSource,
} from '../../src/index.js';
import { findPgBouncer, PgBouncer } from '../support/embedded-pg.js';
import { A_IDS, B_IDS, prepareAttackRole } from '../support/attack-fixture.js';
import { coreRlsMigrations, type TestDB } from '../support/schema.js';
import { skipUnlessInstalled } from '@stellaops/vitest-config';

/** This file's own app role: role-level settings are cluster-wide, so the attacks never touch other files' role. */
const ROLE = 'pgcore_attack_app';
const PASSWORD = 'pgcore-attack-app-pw';

const db = useTestDatabase({ migrations: coreRlsMigrations, scope: 'file' });
const bin = findPgBouncer();
// The PgBouncer half needs Debian's pgbouncer (scripts/bootstrap.sh installs it): skipped without it here, a failure in CI.
const noBouncer = skipUnlessInstalled(bin ? [] : ['pgbouncer'], 'the PgBouncer half of the proof attacks');
let bouncer: PgBouncer | undefined;

beforeAll(async () => {
  await prepareAttackRole(db.pool, ROLE, PASSWORD);
  if (bin) bouncer = await new PgBouncer(bin, { port: db.server.port, host: db.server.host }, { [ROLE]: PASSWORD }, 4).start();
});

afterAll(async () => {
  await bouncer?.stop();
  await db.pool.query(`alter role ${ROLE} reset all`).catch(() => undefined);
});

interface Mode {
  name: string;
  poolerMode: PoolerMode;
  url(): string;
}

const MODES: Mode[] = [
  { name: 'direct', poolerMode: 'none', url: () => db.server.urlFor(db.database, { user: ROLE, password: PASSWORD }) },
  { name: 'through PgBouncer (transaction pooling)', poolerMode: 'transaction', url: () => bouncer!.url(db.database, ROLE, PASSWORD) },
];

/** Everything in the tenant tables, read as the superuser: an attack must leave it exactly as it was. */
async function snapshot(): Promise<string> {
  const items = await db.pool.query('select id, tenant_id, name, qty from items order by id');
  const notes = await db.pool.query('select tenant_id, body from notes order by id');
  return JSON.stringify([items.rows, notes.rows]);
}

function open(mode: Mode, extra: { logger?: DataLayerLogger; key?: TenantKey | null; max?: number } = {}): PostgresDataSource<TestDB> {
  const key =
    extra.key === null ? {} : { tenantKey: extra.key ?? new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey) };
  return createDataSource<TestDB>(
    { connectionString: mode.url(), poolerMode: mode.poolerMode, pool: { max: extra.max ?? 2 }, ...key },
    { registry: new PoolRegistry(), ...(extra.logger ? { logger: extra.logger } : {}) },
  );
}

/** Later units of every tenant, on `ds` (connections the attack may have used) and on a fresh data source. */
async function expectLaterUnitsUnaffected(mode: Mode, used?: PostgresDataSource<TestDB>): Promise<void> {
  const fresh = open(mode);
  try {
    for (const ds of used ? [used, fresh] : [fresh]) {
      for (const [tenant, ids] of [
        ['a', A_IDS],
        ['b', B_IDS],
      ] as const) {
        const rows = await ds.forTenant(tenant).selectFrom('items').select(['id', 'tenant_id']).orderBy('id').execute();
        expect(rows, `${tenant} after the attack`).toEqual(ids.map((id) => ({ id, tenant_id: tenant })));
        const inUnit = await ds.withTenant(tenant, async (trx) => {
          await trx.updateTable('items').set({ qty: 0 }).where('id', '=', ids[0]!).execute();
          return trx.selectFrom('notes').select('tenant_id').execute();
        });
        expect(inUnit.every((n) => n.tenant_id === tenant) && inUnit.length === 1, `${tenant} notes`).toBe(true);
      }
      expect(await ds.db.selectFrom('items').select('id').execute()).toEqual([]);
    }
  } finally {
    await fresh.close();
  }
}

async function attacker<T>(mode: Mode, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: mode.url() });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The SQLSTATE the statement failed with, or 'ok'. */
async function outcome(c: pg.Client, text: string): Promise<string> {
  try {
    await c.query(text);
    return 'ok';
  } catch (e) {
    return String((e as { code?: string }).code);
  }
}

/** What a forged tenant context can see and do: counts of b's (and anyone's) rows, and write attempts. */
async function probe(c: pg.Client): Promise<{ visible: number; inserted: string; updated: number; deleted: number }> {
  const visible =
    Number((await c.query('select count(*)::int as n from items')).rows[0].n) +
    Number((await c.query('select count(*)::int as n from notes')).rows[0].n);
  await c.query('savepoint p');
  const inserted = await outcome(c, `insert into items (id, tenant_id, name) values (999, 'b', 'forged')`);
  await c.query('rollback to savepoint p');
  const updated = (await c.query(`update items set name = 'pwned' where tenant_id = 'b'`)).rowCount ?? 0;
  const deleted = (await c.query(`delete from items where tenant_id = 'b'`)).rowCount ?? 0;
  return { visible, inserted, updated, deleted };
}

const NOTHING = { visible: 0, inserted: '42501', updated: 0, deleted: 0 };

describe.each(MODES)('attacks $name', (mode) => {
  // without pgbouncer only that mode skips (see noBouncer); the direct mode always runs
  const skip = mode.poolerMode === 'transaction' && noBouncer;

  it.skipIf(skip)('class 1: forging the tenant with set_config or SET (any form) reads and writes nothing', async () => {
    const before = await snapshot();
    const forms = [
      `select set_config('app.tenant_id', 'b', true)`,
      `select set_config('app.tenant_id', 'b', false)`,
      `set local app.tenant_id = 'b'`,
      `set app.tenant_id = 'b'`,
      `set "app"."tenant_id" to 'b'`,
      `select '--', set_config(U&'app.tenant\\005fid', 'b', true)`,
      `select set_config('app.tenant_id', 'b', true), set_config('app.tenant_proof', '', true)`,
    ];
    await attacker(mode, async (c) => {
      for (const form of forms) {
        await c.query('begin');
        await c.query(form);
        expect(await probe(c), form).toEqual(NOTHING);
        await c.query('rollback');
      }
      await c.query(`reset all`);
    });
    // the same inside a data source unit of tenant a: either refused by the driver, or harmless (nothing of b, and
    // not even a's rows once the unit's tenant no longer matches its proof)
    const ds = open(mode, { max: 1 });
    try {
      const seen = await ds
        .withTenant('a', async (trx) => {
          await sql.raw(`select '--', set_config('app.tenant_id','b',true)`).execute(trx);
          return trx.selectFrom('items').select('tenant_id').execute();
        })
        .catch(() => []);
      expect(seen.filter((r) => r.tenant_id !== 'a')).toEqual([]);
      expect(await snapshot()).toBe(before);
      await expectLaterUnitsUnaffected(mode, ds);
    } finally {
      await ds.close();
    }
  });

  it.skipIf(skip)('forged, other-tenant, wrong-key, unknown-key and retired-key proofs are worth nothing', async () => {
    const before = await snapshot();
    const key = new TenantKey(db.server.tenantKey.tenantKeyId, db.server.tenantKey.tenantKey);
    const impostor = new TenantKey(key.keyId, 'an-attacker-guess-of-the-tenant-key-0123456789');
    const unknown = new TenantKey('nosuchkey', db.server.tenantKey.tenantKey);
    const retired = new TenantKey('retired', 'a-key-that-was-valid-once-and-is-retired-now');
    await installTenantKey(db.pool, retired);
    const retiredProof = retired.proofFor('b');
    await removeTenantKey(db.pool, 'retired');
    const proofs: Record<string, [string, string]> = {
      "a's own proof with tenant b": ['b', key.proofFor('a')],
      'proof of b by a guessed key': ['b', impostor.proofFor('b')],
      'proof of b under an unknown key id': ['b', unknown.proofFor('b')],
      'proof of b by a retired key': ['b', retiredProof],
      'all zeros': ['b', `${key.keyId}.${'0'.repeat(64)}`],
      'upper-case hex of a real proof': ['b', key.proofFor('b').toUpperCase()],
      'truncated proof': ['b', key.proofFor('b').slice(0, 40)],
      'no key id': ['b', key.proofFor('b').split('.')[1]!],
      'tenant with trailing space': ['b ', key.proofFor('b')],
      // V001 verified only the first two '.'-parts: these passed as b (a write was accepted, with a tag no read matches)
      'real proof of b with junk after the MAC': ['b', `${key.proofFor('b')}.junk`],
      'real proof of b with a trailing dot': ['b', `${key.proofFor('b')}.`],
      'real proof of b with a trailing newline': ['b', `${key.proofFor('b')}\n`],
      'real proof of b with a leading space': ['b', ` ${key.proofFor('b')}`],
    };
    await attacker(mode, async (c) => {
      for (const [label, [tenant, proof]] of Object.entries(proofs)) {
        await c.query('begin');
        await c.query(`select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)`, [tenant, proof]);
        expect(await probe(c), label).toEqual(NOTHING);
        expect((await c.query('select stellaops_security.current_tenant() as t')).rows[0].t, label).toBeNull();
        await c.query('rollback');
      }
      // control: the real proof of b opens b's rows (so the refusals above are the proof check, not a broken policy)
      await c.query('begin');
      await c.query(`select set_config('app.tenant_id', 'b', true), set_config('app.tenant_proof', $1, true)`, [key.proofFor('b')]);
      expect((await c.query('select id from items order by id')).rows.map((r) => r.id)).toEqual(B_IDS);
      expect((await c.query('select stellaops_security.current_tenant() as t')).rows[0].t).toBe('b');
      await c.query('rollback');
      // and the key table is out of reach
      expect(await outcome(c, 'select * from stellaops_security.tenant_keys')).toBe('42501');
    });
    expect(await snapshot()).toBe(before);
    await expectLaterUnitsUnaffected(mode);
  });

  it.skipIf(skip)('a data source without the tenant key refuses tenant units with a typed error', async () => {
    const ds = open(mode, { key: null });
    try {
      expect(() => ds.forTenant('a')).toThrow(TenantKeyMissingError);
      await expect(ds.withTenant('a', async () => 1)).rejects.toBeInstanceOf(TenantKeyMissingError);
      await expect(ds.batchWithTenant('a', [])).rejects.toBeInstanceOf(TenantKeyMissingError);
      expect(() => ds.forTenant('a')).toThrow(/Postgres__TenantKey/);
      expect(await ds.db.selectFrom('items').select('id').execute()).toEqual([]); // unscoped: fail closed
    } finally {
      await ds.close();
    }
    // a data source signing with a key the database does not have sees nothing and writes nothing
    const wrong = open(mode, { key: new TenantKey('k1', 'a-key-this-database-has-never-seen-0123456789') });
    try {
      expect(await wrong.forTenant('b').selectFrom('items').select('id').execute()).toEqual([]);
      await expect(
        wrong.forTenant('b').insertInto('items').values({ id: 998, tenant_id: 'b', name: 'x' }).execute(),
      ).rejects.toBeInstanceOf(DatabaseError);
    } finally {
      await wrong.close();
    }
  });

  it.skipIf(skip)('class 2: dynamic SQL (query_to_xml & co, DO, functions in pg_temp or public) is refused by privileges', async () => {
    const before = await snapshot();
    const forge = `select set_con' || 'fig(''app.tenant_id'', ''b'', true)`;
    const statements = [
      `select query_to_xml('${forge}', true, false, '')`,
      `select query_to_xmlschema('${forge}', true, false, '')`,
      `select query_to_xml_and_xmlschema('${forge}', true, false, '')`,
      `select ts_stat('select to_tsvector(name) from items')`,
      `select ts_stat('select to_tsvector(name) from items', 'a')`,
      `select ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery')`,
      `do $$ begin perform set_config('app.tenant_id', 'b', true); end $$`,
      `create function pg_temp.forge() returns void language sql as $$ select set_config('app.tenant_id', 'b', true) $$`,
      `create function public.forge() returns void language sql as $$ select set_config('app.tenant_id', 'b', true) $$`,
      `create schema forged`,
    ];
    await attacker(mode, async (c) => {
      for (const s of statements) expect(await outcome(c, s), s).toBe('42501');
      await c.query('begin');
      await c.query('declare cur cursor for select * from items');
      expect(await outcome(c, `select cursor_to_xml('cur', 10, true, false, '')`)).toBe('42501');
      await c.query('rollback');
      await c.query('begin');
      await c.query('declare cur cursor for select * from items');
      expect(await outcome(c, `select cursor_to_xmlschema('cur', true, false, '')`)).toBe('42501');
      await c.query('rollback');
    });
    // injected into a unit of tenant a: the database refuses, the unit fails, nothing leaks
    const ds = open(mode, { max: 1 });
    try {
      const injected = [
        statements[0]!,
        `do $$ begin execute 'select set_con' || 'fig(''app.tenant' || '_id'', ''b'', true)'; end $$`,
        `create function pg_temp.forge() returns int language sql as $$ select 1 $$`,
      ];
      for (const s of injected) {
        const err = await ds.withTenant('a', (trx) => sql.raw(s).execute(trx)).catch((e: unknown) => e);
        expect(err, s).toBeInstanceOf(DatabaseError);
        expect((err as DatabaseError).sqlState, s).toBe('42501');
      }
      expect(await snapshot()).toBe(before);
      await expectLaterUnitsUnaffected(mode, ds);
    } finally {
      await ds.close();
    }
  });

  it.skipIf(skip)('class 6: temporary objects cannot be created (no view or trigger can shadow a table)', async () => {
    const before = await snapshot();
    await attacker(mode, async (c) => {
      for (const s of [
        'create temp table items (id int, tenant_id text, name text, qty int, parent_id int)',
        'create temp view items as select * from public.items',
        'create temporary sequence s',
        'create temp table scratch as select 1 as x',
      ]) {
        expect(await outcome(c, s), s).toBe('42501');
      }
    });
    expect(await snapshot()).toBe(before);
    await expectLaterUnitsUnaffected(mode);
  });

  it.skipIf(skip)('class 7: ALTER ROLE current_user SET … is reported and neutralised before a new connection serves a unit', async () => {
    const before = await snapshot();
    // settings a later unit would suffer from in this mode (in PgBouncer mode, the driver re-sets statement_timeout and
    // search_path in every transaction; default_transaction_read_only would last on server connections PgBouncer
    // opens before the reset — see the README's residual channels)
    const settings =
      mode.poolerMode === 'none'
        ? [`search_path = pg_temp`, `statement_timeout = '1'`, `default_transaction_read_only = on`]
        : [`search_path = pg_temp`, `statement_timeout = '1'`];
    await attacker(mode, async (c) => {
      for (const s of settings) await c.query(`alter role current_user set ${s}`);
      await c.query(`alter role current_user in database "${db.database}" set work_mem = '64kB'`);
    });
    expect(await checkAppRole(db.pool, ROLE)).toEqual(
      expect.arrayContaining([expect.stringMatching(/role-level settings .*search_path.*statement_timeout/)]),
    );
    const warnings: Array<{ settings?: string[] }> = [];
    const logger: DataLayerLogger = { info: () => undefined, warn: (obj) => void warnings.push(obj) };
    const ds = open(mode, { logger, max: 2 });
    try {
      await ds.withTenant('a', (trx) => trx.insertInto('items').values({ id: 4, tenant_id: 'a', name: 'after alter role' }).execute());
      expect((await ds.forTenant('a').selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual([...A_IDS, 4]);
      await ds.withTenant('a', (trx) => trx.deleteFrom('items').where('id', '=', 4).execute());
      expect(warnings.flatMap((w) => w.settings ?? [])).toEqual(expect.arrayContaining(['search_path', 'statement_timeout', 'work_mem']));
      const left = await db.pool.query(
        `select count(*)::int as n from pg_db_role_setting where setrole = (select oid from pg_roles where rolname = $1)`,
        [ROLE],
      );
      expect(left.rows[0].n).toBe(0);
      expect(await checkAppRole(db.pool, ROLE)).toEqual([]);
      expect(await snapshot()).toBe(before);
      await expectLaterUnitsUnaffected(mode, ds);
    } finally {
      await ds.close();
      await db.pool.query(`alter role ${ROLE} reset all`);
      await db.pool.query(`alter role ${ROLE} in database "${db.database}" reset all`);
    }
  });
});

describe('the hardened database', () => {
  it('gives the app role nothing beyond DML on its tables and EXECUTE on current_tenant()', async () => {
    expect(await checkAppRole(db.pool, ROLE)).toEqual([]);
    // and checkAppRole does see each privilege when it is there
    await db.pool.query(`grant temporary on database "${db.database}" to ${ROLE}`);
    await db.pool.query(`grant usage on language plpgsql to ${ROLE}`);
    await db.pool.query(`grant execute on function query_to_xml(text, boolean, boolean, text) to ${ROLE}`);
    await db.pool.query(`grant create on schema public to ${ROLE}`);
    try {
      const problems = await checkAppRole(db.pool, ROLE);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/TEMP/),
          expect.stringMatching(/plpgsql/),
          expect.stringMatching(/query_to_xml/),
          expect.stringMatching(/CREATE on schema\(s\) public/),
        ]),
      );
    } finally {
      await db.pool.query(`revoke temporary on database "${db.database}" from ${ROLE}`);
      await db.pool.query(`revoke usage on language plpgsql from ${ROLE}`);
      await db.pool.query(`revoke execute on function query_to_xml(text, boolean, boolean, text) from ${ROLE}`);
      await db.pool.query(`revoke create on schema public from ${ROLE}`);
    }
  });

  it('computes the same HMAC in SQL as node:crypto, for short and long keys', async () => {
    for (const secret of ['k'.repeat(32), 'a much longer key than one sha256 block of sixty-four bytes, to be hashed first by HMAC']) {
      const key = new TenantKey(`t${secret.length}`, secret);
      await installTenantKey(db.pool, key);
      // reinstalling the same key is a no-op; another secret under the same id is refused
      expect(await installTenantKey(db.pool, key)).toBe(false);
      await expect(installTenantKey(db.pool, new TenantKey(key.keyId, 'x'.repeat(40)))).rejects.toThrow(
        /already installed with a different secret/,
      );
      const c = await db.pool.connect();
      try {
        await c.query('begin');
        await c.query(`select set_config('app.tenant_id', 'acme-01', true), set_config('app.tenant_proof', $1, true)`, [
          key.proofFor('acme-01'),
        ]);
        expect((await c.query('select stellaops_security.current_tenant() as t')).rows[0].t).toBe('acme-01');
        await c.query('rollback');
      } finally {
        c.release();
        await removeTenantKey(db.pool, key.keyId);
      }
    }
  });

  it('never shows the tenant key in options, logs or errors', () => {
    const secret = 'super-secret-tenant-key-value-0123456789';
    const ds = open(MODES[0]!, { key: new TenantKey('k1', secret) });
    try {
      expect(JSON.stringify(ds.options)).not.toContain(secret);
      expect(String(ds.options.tenantKey)).toBe('TenantKey(k1, ***)');
      expect(JSON.stringify(ds.options)).toContain('TenantKey(k1, ***)');
    } finally {
      void ds.close();
    }
  });
});
