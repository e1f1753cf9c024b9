import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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

  it('with --url it checks the live schema: tenant keys, ENABLE + FORCE RLS, the standard policy, what the app role owns', async () => {
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
    const fixed = await runCli(['lint', '--dir', dir, '--schema', 'live', '--url', db.connectionString, '--json'], {}, REPO_ROOT);
    expect(fixed.json).toMatchObject({ ok: true, exitCode: 0, errors: 0 });
    expect(findingsOf(fixed.json)).toEqual([]);
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
