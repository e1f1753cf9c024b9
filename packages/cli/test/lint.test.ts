import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SchemaMigrator } from '@stellaops/migrator';
import {
  installTenantKey,
  SECURITY_SCHEMA,
  securityMigrations,
  TenantKey,
  tenantIsolationSql,
  tenantTagRotationSql,
} from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { runCli } from './helpers.js';

const db = useTestDatabase({ scope: 'test' });
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stella-lint-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

interface JsonFinding {
  rule: string;
  severity: string;
  migration: string;
  object: string;
  message: string;
  waived?: string;
}

function findingsOf(json: Record<string, unknown>): JsonFinding[] {
  return (json.modules as { findings: JsonFinding[] }[]).flatMap((m) => m.findings);
}

describe('stella-db lint', () => {
  it("today's modules pass (intended findings carry waivers with reasons)", async () => {
    const run = await runCli(['lint', '--json'], {}, REPO_ROOT);
    expect(run.stderr).toBe('');
    expect(run.json).toMatchObject({ ok: true, command: 'lint', exitCode: 0, errors: 0 });
    const modules = run.json.modules as { module: string; migrations: number }[];
    expect(modules.map((m) => m.module)).toEqual(expect.arrayContaining(['authority', 'notify']));
    for (const m of modules) expect(m.migrations).toBeGreaterThan(0);
    for (const f of findingsOf(run.json)) if (f.severity === 'error') expect(f.waived, `${f.rule} ${f.object}`).toMatch(/\S/);
  });

  it('a folder with violations exits 3 and names the rule, the object and the fix', async () => {
    const dir = migrationsDir({
      'V001__items.sql': 'create table app.items (tenant_id text not null, id uuid not null, body json, primary key (id, tenant_id));\n',
    });
    const run = await runCli(['lint', '--dir', dir, '--schema', 'app', '--json'], {}, REPO_ROOT);
    expect(run.code).toBe(3);
    expect(run.json).toMatchObject({ ok: false, command: 'lint', exitCode: 3 });
    const rules = findingsOf(run.json)
      .map((f) => f.rule)
      .sort();
    expect(rules).toEqual(['prefer-jsonb', 'rls-enable-force', 'rls-policy', 'tenant-pk-leading']);
    const human = await runCli(['lint', '--dir', dir, '--schema', 'app'], {}, REPO_ROOT);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain('V001__items:1 error [prefer-jsonb] app.items.body: app.items.body is json: use jsonb');
    expect(human.stdout).toContain('4 error(s)');
  });

  it('lints the SQL a TypeScript migration compiles', async () => {
    const dir = migrationsDir({
      'V001__counters.sql': 'create table app.counters (id bigint generated always as identity primary key);\n',
      'V002_AddNote.ts':
        "export async function up(db) {\n  await db.schema.alterTable('app.counters').addColumn('note', 'json').execute();\n}\n",
    });
    const run = await runCli(['lint', '--dir', dir, '--schema', 'app', '--json'], {}, REPO_ROOT);
    expect(run.code).toBe(3);
    expect(findingsOf(run.json).map((f) => [f.migration, f.rule, f.object])).toEqual([
      ['V002_AddNote', 'prefer-jsonb', 'app.counters.note'],
    ]);
  });

  it('a waiver needs a reason: without one the run fails, with one it passes', async () => {
    const base = 'create table app.counters (id bigint generated always as identity primary key);\n';
    const noReason = migrationsDir({
      'V001__counters.sql': base,
      'V002__drop.sql': '-- stella:allow drop-object\ndrop table app.counters;\n',
    });
    const failed = await runCli(['lint', '--dir', noReason, '--schema', 'app', '--json'], {}, REPO_ROOT);
    expect(failed.code).toBe(3);
    expect(
      findingsOf(failed.json)
        .filter((f) => !f.waived)
        .map((f) => f.rule),
    ).toEqual(['waiver-reason', 'drop-object']);
    const withReason = migrationsDir({
      'V001__counters.sql': base,
      'V002__drop.sql': '-- stella:allow drop-object replaced by app.tallies in 2026.11\ndrop table app.counters;\n',
    });
    const passed = await runCli(['lint', '--dir', withReason, '--schema', 'app', '--json'], {}, REPO_ROOT);
    expect(passed.code).toBe(0);
    expect(findingsOf(passed.json)).toMatchObject([{ rule: 'drop-object', waived: 'replaced by app.tallies in 2026.11' }]);
  });

  it('with --url it checks the live schema: tenant keys, ENABLE + FORCE RLS, the standard policy and its row tag', async () => {
    const dir = migrationsDir({ 'V001__noop.sql': 'select 1;\n' });
    await db.pool.query(`create schema live;
      create table live.items (tenant_id text not null, id uuid not null, primary key (id, tenant_id));
      create index items_id_idx on live.items (id)`);
    const broken = await runCli(['lint', '--dir', dir, '--schema', 'live', '--url', db.connectionString, '--json'], {}, REPO_ROOT);
    expect(broken.code).toBe(3);
    expect(findingsOf(broken.json).map((f) => [f.migration, f.rule, f.object])).toEqual([
      ['schema', 'tenant-pk-leading', 'live.items'],
      ['schema', 'rls-enable-force', 'live.items'],
      ['schema', 'tenant-index-leading', 'live.items_id_idx'],
      ['schema', 'rls-policy', 'live.items'],
    ]);
    await db.pool.query(`drop index live.items_id_idx;
      alter table live.items drop constraint items_pkey, add primary key (tenant_id, id);
      alter table live.items enable row level security, force row level security;
      create policy items_tenant_isolation on live.items as permissive for all
        using (tenant_id = current_setting('app.tenant_id', true)) with check (tenant_id = current_setting('app.tenant_id', true))`);
    const lint = async () => {
      const run = await runCli(['lint', '--dir', dir, '--schema', 'live', '--url', db.connectionString, '--json'], {}, REPO_ROOT);
      return {
        run,
        findings: findingsOf(run.json).map((f) => [f.rule, f.severity, f.object]),
        messages: findingsOf(run.json).map((f) => f.message),
      };
    };
    // a policy on app.tenant_id alone: SQL can set it, so an error
    const forgeable = await lint();
    expect(forgeable.run.code).toBe(3);
    expect(forgeable.findings).toEqual([['rls-policy-verified-tenant', 'error', 'live.items']]);
    expect(forgeable.messages[0]).toContain("tenantIsolationSql({ schema: 'live', table: 'items' })");

    // the older verified policy: secure, but current_tenant() per statement (a warning, exit 0)
    await new SchemaMigrator({ connectionString: db.connectionString, schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
    await db.pool.query(`drop policy items_tenant_isolation on live.items;
      create policy items_tenant_isolation on live.items as permissive for all
        using (tenant_id = (select stellaops_security.current_tenant())) with check (tenant_id = (select stellaops_security.current_tenant()))`);
    const slow = await lint();
    expect(slow.run.json).toMatchObject({ ok: true, exitCode: 0, errors: 0 });
    expect(slow.findings).toEqual([['rls-policy-tenant-tag', 'warning', 'live.items']]);
    expect(slow.messages[0]).toContain('a PL/pgSQL HMAC check per statement');

    // the tag policy on a bare tenant_tag column: no NOT NULL, no default, no triggers
    const isolation = tenantIsolationSql({ schema: 'live', table: 'items' });
    await db.pool.query(
      `alter table live.items add column tenant_tag bytea; drop policy items_tenant_isolation on live.items; ${isolation.at(-1)}`,
    );
    const bare = await lint();
    expect(bare.run.code).toBe(3);
    expect(bare.findings).toEqual([['tenant-tag-column', 'error', 'live.items']]);
    for (const part of [
      'NOT NULL on tenant_tag',
      'DEFAULT stellaops_security.session_tag()',
      'the fill trigger',
      'the retag trigger',
      'the rotation trigger (items_tenant_tag_rotate',
    ])
      expect(bare.messages[0]).toContain(part);

    // postgres-core's statements (the table has rows: they are backfilled with the installed key): clean
    await installTenantKey(db.pool, new TenantKey('k1', 'a-test-tenant-key-of-at-least-32-chars'));
    await db.pool.query(`insert into live.items (tenant_id, id) values ('acme', gen_random_uuid())`);
    for (const statement of isolation) await db.pool.query(statement);
    expect((await db.pool.query('select tenant_tag is not null as tagged from live.items')).rows).toEqual([{ tagged: true }]);
    const tagged = await lint();
    expect(tagged.run.json).toMatchObject({ ok: true, exitCode: 0, errors: 0 });
    expect(tagged.findings).toEqual([]);

    // a disabled fill trigger and a "retag" trigger on another column do not count
    await db.pool.query(`alter table live.items disable trigger items_tenant_tag_fill;
      drop trigger items_tenant_tag_retag on live.items;
      create trigger items_tenant_tag_retag before update of id on live.items for each row execute function stellaops_security.fill_tenant_tag('tenant_id')`);
    const triggers = await lint();
    expect(triggers.findings).toEqual([['tenant-tag-column', 'error', 'live.items']]);
    expect(triggers.messages[0]).toContain('lacks the fill trigger');
    expect(triggers.messages[0]).toContain('the retag trigger');
    expect(triggers.messages[0]).not.toContain('NOT NULL');
    expect(triggers.messages[0]).not.toContain('the rotation trigger (');
  });

  it('with --url a tag policy needs the enabled rotation trigger (BEFORE UPDATE of any column, rotate_tenant_tag())', async () => {
    const dir = migrationsDir({ 'V001__noop.sql': 'select 1;\n' });
    await new SchemaMigrator({ connectionString: db.connectionString, schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
    await installTenantKey(db.pool, new TenantKey('k1', 'a-test-tenant-key-of-at-least-32-chars'));
    const rotation = tenantTagRotationSql({ schema: 'rot', table: 'items' });
    const isolation = tenantIsolationSql({ schema: 'rot', table: 'items' });
    await db.pool.query(`create schema rot;
      create table rot.items (tenant_id text not null, id uuid not null, primary key (tenant_id, id))`);
    // a table made tenant-isolated before the rotation trigger existed
    for (const statement of isolation.filter((st) => !rotation.includes(st))) await db.pool.query(statement);
    const lint = async () => {
      const run = await runCli(['lint', '--dir', dir, '--schema', 'rot', '--url', db.connectionString, '--json'], {}, REPO_ROOT);
      return { run, findings: findingsOf(run.json) };
    };
    const expectMissing = async (why: string) => {
      const { run, findings } = await lint();
      expect(run.code, why).toBe(3);
      expect(
        findings.map((f) => [f.migration, f.rule, f.severity, f.object]),
        why,
      ).toEqual([['schema', 'tenant-tag-column', 'error', 'rot.items']]);
      const message = findings[0]!.message;
      expect(message, why).toContain('lacks the rotation trigger (items_tenant_tag_rotate: BEFORE UPDATE … FOR EACH ROW WHEN');
      expect(message, why).toContain('during a tenant-key rotation');
      expect(message, why).toContain(
        `tenantTagRotationSql({ schema: 'rot', table: 'items' }) as literal SQL (drop trigger if exists, create trigger: ${rotation[1]})`,
      );
      expect(message, why).not.toMatch(/fill trigger|retag trigger|NOT NULL/);
    };
    await expectMissing('never created');

    // tenantTagRotationSql's statements: clean
    for (const statement of rotation) await db.pool.query(statement);
    const clean = await lint();
    expect(clean.run.json).toMatchObject({ ok: true, exitCode: 0, errors: 0 });
    expect(clean.findings).toEqual([]);

    await db.pool.query('alter table rot.items disable trigger items_tenant_tag_rotate');
    await expectMissing('disabled');
    await db.pool.query('alter table rot.items enable trigger items_tenant_tag_rotate');
    expect((await lint()).findings).toEqual([]);
    // only on an UPDATE OF list (a rotation updates any column), or AFTER the check
    // or without its WHEN on the previous-key tag (it would set the owner's NULL session tag on every update)
    for (const [from, to] of [
      ['before update on', 'before update of tenant_id on'],
      ['before update on', 'after update on'],
      [/ when \(.*\) execute/, ' execute'],
      ["'app.tenant_proof_previous'", "'app.tenant_proof'"],
    ] as const) {
      const changed = rotation[1]!.replace(from, to);
      expect(changed).not.toBe(rotation[1]);
      await db.pool.query(`drop trigger items_tenant_tag_rotate on rot.items; ${changed}`);
      await expectMissing(String(to));
    }
    await db.pool.query('drop trigger items_tenant_tag_rotate on rot.items');
    await expectMissing('dropped');
  });

  it('with --url it flags what the app role owns and may do beyond DML', async () => {
    const role = `lint_app_${process.pid}_${Date.now()}`;
    const dir = migrationsDir({ 'V001__noop.sql': 'select 1;\n' });
    await db.pool.query(`create role ${role} nologin bypassrls;
      create schema roles;
      create table roles.owned (id uuid primary key);
      alter table roles.owned owner to ${role};
      create table roles.shared (id uuid primary key);
      grant usage, create on schema roles to ${role};
      grant select, truncate on roles.shared to ${role}`);
    try {
      const run = await runCli(
        ['lint', '--dir', dir, '--schema', 'roles', '--url', db.connectionString, '--app-role', role, '--json'],
        {},
        REPO_ROOT,
      );
      expect(run.code).toBe(3);
      const found = findingsOf(run.json).filter((f) => f.rule === 'app-role-privileges');
      expect(found.map((f) => f.object).sort()).toEqual(
        [role, 'roles', 'roles.owned', 'roles.owned', 'roles.owned_pkey', 'roles.shared'].sort(),
      );
      expect(found.find((f) => f.object === role)?.message).toContain('BYPASSRLS');
      expect(found.find((f) => f.object === 'roles.shared')?.message).toContain(`revoke truncate on roles.shared from ${role}`);
    } finally {
      await db.pool.query(
        `drop table roles.owned; revoke all on schema roles from ${role}; revoke all on roles.shared from ${role}; drop role ${role}`,
      );
    }
  });

  it('migrate plan shows lint findings for pending migrations', async () => {
    const dir = migrationsDir({
      'V001__counters.sql': 'create table app.counters (id bigint generated always as identity primary key);\n',
      'V002__note.sql': 'alter table app.counters add column note json;\n',
    });
    const plan = await runCli(
      ['migrate', 'plan', '--url', db.connectionString, '--dir', dir, '--schema', 'app', '--no-progress'],
      {},
      REPO_ROOT,
    );
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('-- stella-db lint: 1 finding(s) in the pending migrations');
    expect(plan.stdout).toContain('V002__note:1 error [prefer-jsonb] app.counters.note');
  });

  it('--rules lists every rule with its severity', async () => {
    const run = await runCli(['lint', '--rules', '--json']);
    expect((run.json.rules as { id: string }[]).map((r) => r.id)).toContain('rls-enable-force');
  });
});
