import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { registerModule } from '../src/index.js';
import { migrationsCopy, runCli } from './helpers.js';

const db = useTestDatabase({ scope: 'test' });
const PASSWORD = 'S3cr3t-Pa55-xyz';

function args(cmd: string, dir: string, ...extra: string[]): string[] {
  return ['migrate', cmd, '--url', db.connectionString, '--dir', dir, '--schema', 'shop', ...extra];
}

describe('stella-db migrate (real PostgreSQL)', () => {
  it('up / status / verify / plan with --json: shapes and exit codes', async () => {
    const dir = migrationsCopy();
    const plan = await runCli(args('plan', dir, '--json'));
    expect(plan.code).toBe(0);
    expect(plan.json).toMatchObject({ ok: true, command: 'plan', exitCode: 0, schema: 'shop', direction: 'up' });
    const planned = plan.json.migrations as { id: string; sql: string; transaction: boolean; capture: string }[];
    expect(planned.map((m) => [m.id, m.transaction, m.capture])).toEqual([
      ['V001__create_tables', true, 'full'],
      ['V002__index_products', false, 'full'],
      ['V003_AddPrice', true, 'full'],
    ]);
    expect(planned[2]?.sql).toBe('alter table "shop"."products" add column "price" numeric(10, 2);');
    expect((await db.pool.query("select count(*)::int as n from pg_namespace where nspname = 'shop'")).rows[0].n).toBe(0);

    const pending = await runCli(args('status', dir, '--json', '--fail-on-pending'));
    expect(pending.code).toBe(3);
    expect(pending.json).toMatchObject({ ok: false, command: 'status', exitCode: 3, initialized: false, counts: { pending: 3 } });
    expect((await runCli(args('verify', dir))).code).toBe(3);

    const up = await runCli(args('up', dir, '--json'));
    expect(up.code).toBe(0);
    expect(up.stderr).toBe('');
    expect(up.json).toMatchObject({ ok: true, command: 'up', exitCode: 0, schema: 'shop' });
    expect(
      (up.json.results as { id: string; status: string; inTransaction: boolean }[]).map((r) => [r.id, r.status, r.inTransaction]),
    ).toEqual([
      ['V001__create_tables', 'applied', true],
      ['V002__index_products', 'applied', false],
      ['V003_AddPrice', 'applied', true],
    ]);
    expect(typeof up.json.durationMs).toBe('number');

    const again = await runCli(args('up', dir));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('schema shop is up to date');
    const status = await runCli(args('status', dir, '--fail-on-pending'));
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/ID\s+STATE\s+APPLIED AT\s+DURATION\s+TX\s+DESCRIPTION/);
    expect(status.stdout).toContain('3 applied');
    const verify = await runCli(args('verify', dir, '--json'));
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ ok: true, command: 'verify', pending: [], drifted: [] });
  });

  it('a failing migration exits 1 with the migration, SQLSTATE and position in JSON', async () => {
    const dir = migrationsCopy();
    writeFileSync(join(dir, 'V004__broken.sql'), 'create table shop.ok (id int);\ninsert into shop.nope values (1);\n');
    const r = await runCli(args('up', dir, '--json'));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({
      ok: false,
      command: 'up',
      exitCode: 1,
      error: {
        code: 'MIGRATION_FAILED',
        migrationId: 'V004__broken',
        sqlState: '42P01',
        rolledBack: true,
        position: { statement: 2, line: 2 },
      },
    });
    expect((r.json.results as { id: string; status: string }[]).map((x) => x.status)).toEqual(['applied', 'applied', 'applied', 'failed']);
    const human = await runCli(args('up', dir));
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('migration V004__broken (up) failed [SQLSTATE 42P01] at statement 2, line 2');
    expect(human.stderr).toContain('insert into shop.nope values (1)');
  });

  it('drift: up and verify report it (1 and 3), accept records it, then 0', async () => {
    const dir = migrationsCopy();
    expect((await runCli(args('up', dir))).code).toBe(0);
    appendFileSync(join(dir, 'V001__create_tables.sql'), 'comment on table shop.products is $$edited$$;\n');
    const verify = await runCli(args('verify', dir, '--json'));
    expect(verify.code).toBe(3);
    expect((verify.json.drifted as { id: string }[])[0]?.id).toBe('V001__create_tables');
    const up = await runCli(args('up', dir, '--json'));
    expect(up.code).toBe(1);
    expect(up.json).toMatchObject({ error: { code: 'CHECKSUM_MISMATCH', mismatches: [{ id: 'V001__create_tables' }] } });
    const accept = await runCli(args('accept', dir, '--json'));
    expect(accept.code).toBe(0);
    expect((accept.json.accepted as { id: string }[]).map((a) => a.id)).toEqual(['V001__create_tables']);
    expect((await runCli(args('verify', dir))).code).toBe(0);
  });

  it('down --to rolls back; down without a target is a usage error', async () => {
    const dir = migrationsCopy();
    await runCli(args('up', dir));
    expect((await runCli(args('down', dir))).code).toBe(2);
    const down = await runCli(args('down', dir, '--to', 'V001__create_tables', '--json'));
    expect(down.code).toBe(0);
    expect((down.json.results as { id: string; status: string }[]).map((r) => [r.id, r.status])).toEqual([
      ['V003_AddPrice', 'reverted'],
      ['V002__index_products', 'reverted'],
    ]);
    const plan = await runCli(args('plan', dir, '--down', '--all'));
    expect(plan.stdout).toContain('drop table shop.products;');
  });

  it('takes an Npgsql connection string from Postgres__ConnectionString and never prints the password', async () => {
    await db.pool.query(`create role stella_cli login superuser password '${PASSWORD}'`);
    const url = new URL(db.connectionString);
    const npgsql = `Host=${url.hostname};Port=${url.port};Database=${db.database};Username=stella_cli;Password=${PASSWORD}`;
    const dir = migrationsCopy();
    const r = await runCli(['migrate', 'up', '--dir', dir, '--schema', 'shop'], { Postgres__ConnectionString: npgsql });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stella_cli:***@');
    const bad = await runCli([
      'migrate',
      'status',
      '--dir',
      dir,
      '--schema',
      'shop',
      '--json',
      '--url',
      `postgres://stella_cli:${PASSWORD}@127.0.0.1:1/${db.database}`,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ ok: false, error: { code: 'CONNECTION_FAILED' } });
    for (const out of [r.stdout, r.stderr, bad.stdout, bad.stderr]) expect(out).not.toContain(PASSWORD);
    await db.pool.query('drop owned by stella_cli cascade; drop role stella_cli').catch(() => undefined);
  });

  it('--module resolves a registered module (packages plug in the same way)', async () => {
    registerModule('demo', async () => ({ schema: 'demo', migrations: [{ id: 'V001_Demo', up: 'create table demo.t (id int)' }] }));
    const r = await runCli(['migrate', 'up', '--url', db.connectionString, '--module', 'demo', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ schema: 'demo', results: [{ id: 'V001_Demo', status: 'applied' }] });
    const unknown = await runCli(['migrate', 'status', '--url', db.connectionString, '--module', 'nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.json).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(String((unknown.json.error as { message: string }).message)).toContain('@stellaops/module-nope');
  });

  it('--module <name> finds a workspace module package (packages/modules/*) from inside the repository', async () => {
    const plan = await runCli(['migrate', 'plan', '--url', db.connectionString, '--module', 'authority', '--json']);
    expect(plan.code).toBe(0);
    expect(plan.json).toMatchObject({ ok: true, schema: 'authority', direction: 'up' });
    expect((plan.json.migrations as unknown[]).length).toBeGreaterThan(0);
    expect((await db.pool.query("select count(*)::int as n from pg_namespace where nspname = 'authority'")).rows[0].n).toBe(0);
  });

  it('--schema is the default schema: an unqualified create table lands in it, and down finds it there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-db-hidden-'));
    writeFileSync(join(dir, 'V001__ledger.sql'), 'create table ledger (id int primary key, amount numeric not null);\n');
    writeFileSync(join(dir, 'V001__ledger.down.sql'), 'drop table ledger;\n');
    const up = await runCli(['migrate', 'up', '--url', db.connectionString, '--dir', dir, '--schema', 'hidden']);
    expect(up.code, up.stderr).toBe(0);
    const where = await db.pool.query<{ schema: string }>("select schemaname as schema from pg_tables where tablename = 'ledger'");
    expect(where.rows).toEqual([{ schema: 'hidden' }]);
    const down = await runCli(['migrate', 'down', '--url', db.connectionString, '--dir', dir, '--schema', 'hidden', '--all']);
    expect(down.code, down.stderr).toBe(0);
    expect((await db.pool.query("select 1 from pg_tables where tablename = 'ledger'")).rowCount).toBe(0);
  });

  it("--module honours the module's own tracking table; --table still overrides it", async () => {
    registerModule('tabled', async () => ({
      schema: 'tabled',
      table: 'schema_history',
      migrations: [{ id: 'V001_T', up: 'create table tabled.t (id int)' }],
    }));
    const up = await runCli(['migrate', 'up', '--url', db.connectionString, '--module', 'tabled', '--json']);
    expect(up.code, up.stdout).toBe(0);
    const tables = async () =>
      (await db.pool.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'tabled' order by 1")).rows.map(
        (r) => r.t,
      );
    expect(await tables()).toEqual(['schema_history', 't']);
    const status = await runCli(['migrate', 'status', '--url', db.connectionString, '--module', 'tabled', '--json']);
    expect(status.json).toMatchObject({ counts: { applied: 1, pending: 0 } });
    const other = await runCli([
      'migrate',
      'status',
      '--url',
      db.connectionString,
      '--module',
      'tabled',
      '--table',
      'other_history',
      '--json',
    ]);
    expect(other.json).toMatchObject({ counts: { pending: 1 } });
    expect(await tables()).toEqual(['schema_history', 't']); // status creates nothing
  });
});
