import { Migrator as KyselyMigrator, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import {
  ChecksumMismatchError,
  InvalidMigrationError,
  IrreversibleMigrationError,
  MigrationFailedError,
  OutOfOrderError,
  SchemaMigrator,
  type Migration,
  type SchemaMigratorOptions,
  resolveMigrations,
} from '../src/index.js';
import { applyMigration } from '../src/runner/apply-migration.js';

const db = useTestDatabase({ scope: 'test' });

function migrator(migrations: SchemaMigratorOptions['migrations'], extra: Partial<SchemaMigratorOptions> = {}): SchemaMigrator {
  return new SchemaMigrator({ connectionString: db.connectionString, schema: 'app', migrations, ...extra });
}

async function rows(): Promise<Record<string, unknown>[]> {
  return (
    await db.pool.query(
      'select name, checksum, in_transaction, duration_ms, applied_by, description, applied_at, timestamp from app._migrations order by name',
    )
  ).rows;
}

async function tableExists(name: string): Promise<boolean> {
  const r = await db.pool.query('select to_regclass($1) is not null as e', [name]);
  return r.rows[0].e as boolean;
}

const base: Migration[] = [
  { id: 'V001_CreateUsers', up: 'create table app.users (id int primary key, email text not null)', down: 'drop table app.users' },
  {
    id: 'V002_AddName',
    up: async (k) => {
      await k.schema.alterTable('app.users').addColumn('name', 'text').execute();
    },
    down: async (k) => {
      await k.schema.alterTable('app.users').dropColumn('name').execute();
    },
  },
];

describe('SchemaMigrator (real PostgreSQL)', () => {
  it('applies pending migrations once and records tracking rows; running again changes nothing', async () => {
    const first = await migrator(base).up();
    expect(first.results.map((r) => [r.id, r.status, r.inTransaction])).toEqual([
      ['V001_CreateUsers', 'applied', true],
      ['V002_AddName', 'applied', true],
    ]);
    const before = await rows();
    expect(before).toHaveLength(2);
    expect(before[0]).toMatchObject({
      name: 'V001_CreateUsers',
      in_transaction: true,
      applied_by: 'postgres',
      description: 'Create users',
    });
    expect(before[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof before[0]?.timestamp).toBe('string');
    const second = await migrator(base).up();
    expect(second.results).toEqual([]);
    expect(await rows()).toEqual(before);
    expect((await migrator(base).verify()).ok).toBe(true);
  });

  it('rolls back only the failing migration, reports SQLSTATE and position, and resumes next run', async () => {
    const broken: Migration[] = [
      ...base,
      { id: 'V003_Broken', up: 'create table app.t3 (id int);\ninsert into app.t3 values (1);\nselect * from app.nope;' },
      { id: 'V004_After', up: 'create table app.t4 (id int)' },
    ];
    const err = await migrator(broken)
      .up()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(MigrationFailedError);
    const f = err as MigrationFailedError;
    expect(f.migrationId).toBe('V003_Broken');
    expect(f.sqlState).toBe('42P01');
    expect(f.position).toMatchObject({ statement: 3, line: 3, column: 15 });
    expect(f.rolledBack).toBe(true);
    expect(f.results.map((r) => [r.id, r.status])).toEqual([
      ['V001_CreateUsers', 'applied'],
      ['V002_AddName', 'applied'],
      ['V003_Broken', 'failed'],
      ['V004_After', 'not-run'],
    ]);
    expect(f.message).toContain('V003_Broken');
    expect(await tableExists('app.t3')).toBe(false);
    expect((await rows()).map((r) => r.name)).toEqual(['V001_CreateUsers', 'V002_AddName']);
    const fixed = broken.map((m) => (m.id === 'V003_Broken' ? { ...m, up: 'create table app.t3 (id int)' } : m));
    const resumed = await migrator(fixed).up();
    expect(resumed.results.map((r) => r.id)).toEqual(['V003_Broken', 'V004_After']);
  });

  it('reports a Kysely step failure with the failing query', async () => {
    const err = await migrator([
      {
        id: 'V1_Bad',
        up: async (k) => {
          await sql`select 1`.execute(k);
          await sql`select missing_column from pg_class`.execute(k);
        },
      },
    ])
      .up()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as MigrationFailedError).sqlState).toBe('42703');
    expect((err as MigrationFailedError).statement).toBe('select missing_column from pg_class');
  });

  it('stops on checksum drift naming the migration and both checksums, until accept', async () => {
    await migrator(base).up();
    const changed = base.map((m) =>
      m.id === 'V001_CreateUsers' ? { ...m, up: 'create table app.users (id bigint primary key, email text not null)' } : m,
    );
    const more = [...changed, { id: 'V003_More', up: 'create table app.more (id int)' }];
    const err = await migrator(more)
      .up()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    const mm = (err as ChecksumMismatchError).mismatches[0];
    expect(mm?.id).toBe('V001_CreateUsers');
    expect(mm?.appliedChecksum).not.toBe(mm?.currentChecksum);
    expect(String(err)).toContain(mm!.appliedChecksum);
    expect(String(err)).toContain(mm!.currentChecksum);
    expect(await tableExists('app.more')).toBe(false);
    const verify = await migrator(more).verify();
    expect(verify).toMatchObject({ ok: false, pending: ['V003_More'], drifted: [{ id: 'V001_CreateUsers' }] });
    const accepted = await migrator(more).accept();
    expect(accepted.accepted).toEqual([{ id: 'V001_CreateUsers', previousChecksum: mm!.appliedChecksum, checksum: mm!.currentChecksum }]);
    expect((await migrator(more).up()).results.map((r) => r.id)).toEqual(['V003_More']);
  });

  it('refuses an out-of-order migration unless allowed', async () => {
    await migrator([base[0]!, { id: 'V003_Later', up: 'create table app.later (id int)' }]).up();
    const withHotfix = [
      base[0]!,
      { id: 'V002_Hotfix', up: 'create table app.hotfix (id int)' },
      { id: 'V003_Later', up: 'create table app.later (id int)' },
    ];
    await expect(migrator(withHotfix).up()).rejects.toThrow(OutOfOrderError);
    await expect(migrator(withHotfix).up()).rejects.toThrow(/V002_Hotfix is older than the newest applied migration V003_Later/);
    expect(await tableExists('app.hotfix')).toBe(false);
    const r = await migrator(withHotfix, { allowOutOfOrder: true }).up();
    expect(r.results.map((x) => x.id)).toEqual(['V002_Hotfix']);
  });

  it('runs a no-transaction migration (CREATE INDEX CONCURRENTLY) outside a transaction', async () => {
    const set: Migration[] = [
      ...base,
      { id: 'V003_IndexEmail', transaction: false, up: 'create index concurrently users_email_idx on app.users (email)' },
      { id: 'V004_EnumValue', up: "create type app.mood as enum ('ok')" },
      { id: 'V005_AddEnumValue', transaction: false, up: "alter type app.mood add value 'great'" },
      { id: 'V006_UseEnumValue', up: "create table app.feel (m app.mood default 'great')" },
    ];
    const r = await migrator(set).up();
    expect(r.results.find((x) => x.id === 'V003_IndexEmail')).toMatchObject({ status: 'applied', inTransaction: false });
    const idx = await db.pool.query("select indisvalid from pg_index where indexrelid = 'app.users_email_idx'::regclass");
    expect(idx.rows[0].indisvalid).toBe(true);
    expect((await rows()).find((x) => x.name === 'V003_IndexEmail')?.in_transaction).toBe(false);
    // Inside a transaction, PostgreSQL itself refuses CONCURRENTLY: the failure is reported and rolled back.
    const wrong = await migrator([...set, { id: 'V007_Wrong', up: 'create index concurrently users_id_idx on app.users (id)' }])
      .up()
      .catch((e: unknown) => e);
    expect((wrong as MigrationFailedError).sqlState).toBe('25001');
  });

  it('refuses a Kysely no-transaction migration that sends two statements', async () => {
    const err = await migrator([
      {
        id: 'V1_TwoStatements',
        transaction: false,
        up: async (k) => {
          await sql`create table app.a (id int)`.execute(k);
          await sql`create table app.b (id int)`.execute(k);
        },
      },
    ])
      .up()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as MigrationFailedError).cause).toBeInstanceOf(InvalidMigrationError);
    expect(await tableExists('app.b')).toBe(false);
  });

  it('rolls back down to a target, and refuses before touching anything when a down is missing', async () => {
    const set: Migration[] = [
      ...base,
      { id: 'V003_Items', up: 'create table app.items (id int)', down: 'drop table app.items' },
      { id: 'V004_NoDown', up: 'create table app.nodown (id int)' },
    ];
    await migrator(set).up();
    const before = await rows();
    await expect(migrator(set).down({ to: 'V001_CreateUsers' })).rejects.toThrow(IrreversibleMigrationError);
    expect(await rows()).toEqual(before);
    expect(await tableExists('app.items')).toBe(true);
    const withDown = set.map((m) => (m.id === 'V004_NoDown' ? { ...m, down: 'drop table app.nodown' } : m));
    await migrator(withDown)
      .accept()
      .catch(() => undefined);
    const r = await migrator(withDown).down({ to: 'V001_CreateUsers' });
    expect(r.results.map((x) => [x.id, x.status])).toEqual([
      ['V004_NoDown', 'reverted'],
      ['V003_Items', 'reverted'],
      ['V002_AddName', 'reverted'],
    ]);
    expect((await rows()).map((x) => x.name)).toEqual(['V001_CreateUsers']);
    expect(await tableExists('app.items')).toBe(false);
    expect(
      (
        await db.pool.query(
          "select count(*)::int as n from information_schema.columns where table_schema='app' and table_name='users' and column_name='name'",
        )
      ).rows[0].n,
    ).toBe(0);
  });

  it('retries a migration that hits lock_timeout, then fails with 55P03 if the lock never frees', async () => {
    await migrator(base).up();
    const blocker = new pg.Client({ connectionString: db.connectionString });
    await blocker.connect();
    try {
      await blocker.query('begin; lock table app.users in access exclusive mode');
      const events: string[] = [];
      const err = await migrator([...base, { id: 'V003_Alter', up: 'alter table app.users add column x int' }], {
        lockTimeoutMs: 100,
        lockRetries: 2,
        retryDelayMs: 10,
        onEvent: (e) => events.push(e.type),
      })
        .up()
        .catch((e: unknown) => e);
      expect((err as MigrationFailedError).sqlState).toBe('55P03');
      expect(events.filter((e) => e === 'migration-retry')).toHaveLength(2);
      expect((err as MigrationFailedError).results[0]?.attempts).toBe(3);
      await blocker.query('commit');
      const ok = await migrator([...base, { id: 'V003_Alter', up: 'alter table app.users add column x int' }], { lockTimeoutMs: 100 }).up();
      expect(ok.results[0]?.status).toBe('applied');
    } finally {
      await blocker.end();
    }
  });

  it("honours a migration's own lock_timeout, in a transaction and outside one", async () => {
    await migrator(base).up();
    const blocker = new pg.Client({ connectionString: db.connectionString });
    await blocker.connect();
    try {
      await blocker.query('begin; lock table app.users in access exclusive mode');
      // The runner's lock_timeout is a minute; the migration's own 50 ms wins.
      const tx = await migrator([...base, { id: 'V003_Quick', lockTimeoutMs: 50, up: 'alter table app.users add column q int' }], {
        lockTimeoutMs: 60_000,
        lockRetries: 0,
      })
        .up()
        .catch((e: unknown) => e);
      expect((tx as MigrationFailedError).sqlState).toBe('55P03');
      const noTx = await migrator(
        [
          ...base,
          { id: 'V003_Quick', transaction: false, lockTimeoutMs: 50, up: 'create index concurrently users_q on app.users (email)' },
        ],
        { lockTimeoutMs: 60_000 },
      )
        .up()
        .catch((e: unknown) => e);
      expect((noTx as MigrationFailedError).sqlState).toBe('55P03');
      expect((noTx as MigrationFailedError).rolledBack).toBe(false);
      expect(String(noTx)).toContain('INVALID index');
    } finally {
      await blocker.query('rollback').catch(() => undefined);
      await blocker.end();
    }
  });

  it('runs a SQL migration holding a BEGIN ATOMIC function body and dollar-quoted PL/pgSQL', async () => {
    const up = [
      'create function app.sign(x int) returns int language sql immutable',
      'begin atomic',
      '  select case when x > 0 then 1 when x < 0 then -1 else 0 end;',
      'end;',
      'create function app.twice(x int) returns int language plpgsql as $$ begin return x * 2; end $$;',
      'create table app.calc as select app.sign(-5) as s, app.twice(21) as t;',
    ].join('\n');
    await migrator([{ id: 'V001_Functions', up }]).up();
    expect((await db.pool.query('select s, t from app.calc')).rows).toEqual([{ s: -1, t: 42 }]);
  });

  it('starts every migration with a clean session: a SET in one does not leak into the next', async () => {
    await migrator([
      { id: 'V001_Schema', up: 'create table app.marker (id int)' },
      // a distinctive timeout, not 1 ms: under load 1 ms could cancel V002's own tracking insert, and that is not what is tested here
      { id: 'V002_SetsSearchPath', up: "create schema elsewhere; set search_path = elsewhere, public; set statement_timeout = '4321s'" },
      {
        id: 'V003_Unqualified',
        up: `create table leaked_or_not (id int);
do $$ begin if current_setting('statement_timeout') = '4321s' then raise exception 'statement_timeout leaked from V002'; end if; end $$`,
      },
    ]).up();
    expect(await tableExists('app.leaked_or_not')).toBe(true); // the set's schema, not the path V002 set
    expect(await tableExists('elsewhere.leaked_or_not')).toBe(false);
    expect(await tableExists('public.leaked_or_not')).toBe(false);
    await db.pool.query('drop schema elsewhere');
  });

  it('plan shows SQL without changing anything; status reads without creating the schema', async () => {
    const s = await migrator(base).status();
    expect(s.initialized).toBe(false);
    expect(s.counts.pending).toBe(2);
    const plan = await migrator(base).plan();
    expect(plan.migrations.map((m) => [m.id, m.sql, m.capture])).toEqual([
      ['V001_CreateUsers', 'create table app.users (id int primary key, email text not null)', 'full'],
      ['V002_AddName', 'alter table "app"."users" add column "name" text;', 'full'],
    ]);
    expect((await db.pool.query("select count(*)::int as n from pg_namespace where nspname = 'app'")).rows[0].n).toBe(0);
    const dataDependent = await migrator([
      {
        id: 'V001_Backfill',
        up: async (k) => {
          const rows = await k.selectFrom('app.users').select('id').execute();
          for (const r of rows) await k.updateTable('app.users').set({ email: 'x' }).where('id', '=', r.id).execute();
        },
      },
    ]).plan();
    expect(dataDependent.migrations[0]).toMatchObject({ capture: 'partial', note: expect.stringContaining('zero rows') });
  });

  it('upgrades a tracking table created by Kysely’s own Migrator, and Kysely can read ours', async () => {
    const k = db.kysely();
    const km = new KyselyMigrator({
      db: k,
      migrationTableSchema: 'app',
      migrationTableName: '_migrations',
      migrationLockTableName: '_migrations_lock',
      provider: {
        getMigrations: async () => ({
          V001_CreateUsers: {
            up: async (d) =>
              void (await sql`create schema if not exists app; create table app.users (id int primary key, email text not null)`.execute(
                d,
              )),
          },
        }),
      },
    });
    expect((await km.migrateToLatest()).error).toBeUndefined();
    const s = await migrator(base).status();
    expect(s.migrations.map((m) => m.state)).toEqual(['unverified', 'pending']);
    await migrator(base).up();
    expect((await rows()).map((r) => r.name)).toEqual(['V001_CreateUsers', 'V002_AddName']);
    const seen = await new KyselyMigrator({
      db: k,
      migrationTableSchema: 'app',
      migrationTableName: '_migrations',
      migrationLockTableName: '_migrations_lock',
      provider: { getMigrations: async () => ({ V001_CreateUsers: { up: async () => {} }, V002_AddName: { up: async () => {} } }) },
    }).getMigrations();
    expect(seen.every((m) => m.executedAt instanceof Date)).toBe(true);
    await k.destroy();
  });

  it('loads a folder of SQL and TypeScript migrations', async () => {
    const m = new SchemaMigrator({
      connectionString: db.connectionString,
      schema: 'dirtest',
      migrations: { directory: new URL('./fixtures/sql-dir', import.meta.url) },
    });
    const r = await m.up();
    expect(r.results.map((x) => [x.id, x.inTransaction])).toEqual([
      ['V001__create_schema_objects', true],
      ['V002__index_concurrently', false],
      ['V003_AddColor', true],
    ]);
    const items = await db.pool.query('select name, color from dirtest.items order by id');
    expect(items.rows).toEqual([
      { name: 'semi;colon', color: null },
      { name: 'dollar;quoted', color: null },
    ]);
    const st = await m.status();
    expect(st.migrations[0]?.description).toBe('create the items table');
    expect(st.migrations[2]?.description).toBe('add a color column');
  });
});

describe("the set's schema is the default schema of its migrations", () => {
  it('puts unqualified names in the schema, up and down, SQL and Kysely, in a transaction and outside one', async () => {
    const hidden = (ms: Migration[]) => new SchemaMigrator({ connectionString: db.connectionString, schema: 'hidden', migrations: ms });
    const ms: Migration[] = [
      { id: 'V001_Ledger', up: 'create table ledger (id int primary key, amount int not null)', down: 'drop table ledger' },
      {
        id: 'V002_Entries',
        up: async (k) => {
          await k.schema.createTable('entries').addColumn('id', 'integer').execute();
          await sql`insert into ledger values (1, ${42})`.execute(k);
        },
        down: async (k) => {
          await k.schema.dropTable('entries').execute();
        },
      },
      {
        id: 'V003_LedgerAmountIdx',
        transaction: false,
        up: 'create index concurrently if not exists ledger_amount_idx on ledger (amount)',
        down: 'drop index concurrently if exists ledger_amount_idx',
      },
      {
        id: 'V004_SeesPath',
        up: "do $$ begin if current_setting('search_path') <> '\"hidden\", public' then raise exception 'search_path is %', current_setting('search_path'); end if; end $$",
        down: 'select 1',
      },
    ];
    const report = await hidden(ms).up();
    expect(report.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied', 'applied']);
    for (const t of ['hidden.ledger', 'hidden.entries', 'hidden.ledger_amount_idx']) expect(await tableExists(t), t).toBe(true);
    for (const t of ['public.ledger', 'public.entries', 'public.ledger_amount_idx']) expect(await tableExists(t), t).toBe(false);
    expect((await db.pool.query('select amount from hidden.ledger')).rows).toEqual([{ amount: 42 }]);
    await hidden(ms).down({ to: 'V001_Ledger' });
    expect(await tableExists('hidden.ledger_amount_idx')).toBe(false);
    expect(await tableExists('hidden.entries')).toBe(false);
    expect(await tableExists('hidden.ledger')).toBe(true);
    await hidden(ms).down({ all: true });
    expect(await tableExists('hidden.ledger')).toBe(false);
  });

  it('refuses a schema or table name outside the identifier rule, naming the rule', () => {
    for (const options of [{ schema: 'Odd "Name"' }, { schema: 'a.b' }, { schema: 'ok', table: 'bad name' }]) {
      expect(() => new SchemaMigrator({ connectionString: db.connectionString, migrations: [], ...options })).toThrow(
        InvalidMigrationError,
      );
      expect(() => new SchemaMigrator({ connectionString: db.connectionString, migrations: [], ...options })).toThrow(/letters, digits/);
    }
  });

  it('outside a transaction the search_path ends with the migration', async () => {
    const schema = 'Mixed_Case';
    await new SchemaMigrator({
      connectionString: db.connectionString,
      schema,
      migrations: [{ id: 'V001_T', up: 'create table t (id int)' }],
    }).up();
    expect(await tableExists('"Mixed_Case"."t"')).toBe(true);
    const [noTx] = await resolveMigrations([
      { id: 'V002_NoTx', transaction: false, up: 'create index concurrently if not exists t_idx on t (id)' },
    ]);
    const client = new pg.Client({ connectionString: db.connectionString });
    await client.connect();
    try {
      const ctx = {
        db: client,
        schema,
        table: '_migrations',
        appliedBy: null,
        lockRetries: 0,
        retryDelayMs: 1,
        sessionLockTimeoutMs: 5000,
        emit: () => {},
      };
      await applyMigration(ctx, noTx!, 'up');
      expect(await tableExists('"Mixed_Case"."t_idx"')).toBe(true);
      const after = await client.query<{ p: string; l: string }>(
        `select current_setting('search_path') as p, current_setting('lock_timeout') as l`,
      );
      expect(after.rows[0]).toEqual({ p: '"$user", public', l: '5s' });
    } finally {
      await client.end();
    }
  });
});
