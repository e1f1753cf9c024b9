import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoleGrantsSql, TenantKey, tenantIsolationSql } from '@stellaops/postgres-core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// A throwaway workspace with one module package (named like a StellaOps module,
// so PersistenceOptions can select it) whose migrations are SQL files.
const root = mkdtempSync(join('/dev/shm', 'stella-ws-'));
chmodSync(root, 0o755); // the embedded server's OS user must reach .stellaops/
const moduleDir = join(root, 'packages', 'modules', 'policy');
const generated = join(moduleDir, 'src', 'generated', 'db.ts');

mkdirSync(join(moduleDir, 'src'), { recursive: true });
mkdirSync(join(moduleDir, 'migrations'));
writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/modules/*\n');
writeFileSync(
  join(moduleDir, 'package.json'),
  JSON.stringify({ name: '@stellaops/module-policy', type: 'module', exports: { '.': { '@stellaops/source': './src/index.ts' } } }),
);
writeFileSync(
  join(moduleDir, 'src', 'index.ts'),
  `export const migrations = { schema: 'policy', migrations: { directory: new URL('../migrations/', import.meta.url) } };\n` +
    `export const REQUIRED_ROLES = ['stellaops_app'];\n`,
);
// a tenant table with postgres-core's standard isolation (row tag, triggers, tag policy) and app role grants
writeFileSync(
  join(moduleDir, 'migrations', 'V001__rules.sql'),
  [
    'create table policy.rules (tenant_id text not null, id int not null, name text not null, primary key (tenant_id, id))',
    ...tenantIsolationSql({ schema: 'policy', table: 'rules' }),
    ...appRoleGrantsSql({ appRole: 'stellaops_app', schema: 'policy' }),
  ].join(';\n') + ';\n',
);

afterAll(async () => {
  await runCli(['down'], {}, root);
  rmSync(root, { recursive: true, force: true });
});

describe('stella-db codegen', () => {
  it('writes the module types (without _migrations, with aliases), then --check passes', async () => {
    const run = await runCli(['codegen'], {}, root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/policy\s+packages\/modules\/policy\/src\/generated\/db\.ts\s+written/);
    const file = readFileSync(generated, 'utf8');
    expect(file).toContain('export interface PolicyRules {');
    // the security migrations ran first (the tag policy and triggers call their functions); the tag has a default
    expect(file).toMatch(/tenant_tag: Generated<Buffer>;/);
    expect(file).toContain('"policy.rules": PolicyRules;');
    expect(file).not.toContain('_migrations');
    expect(file).toContain('export type Rule = Selectable<PolicyRules>;');
    expect(file).toContain('export type NewRule = Insertable<PolicyRules>;');
    const check = await runCli(['codegen', '--check'], {}, root);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/unchanged/);
  });

  it('--check exits 3 with a readable diff once a migration is added without regenerating', async () => {
    writeFileSync(
      join(moduleDir, 'migrations', 'V002__exceptions.sql'),
      'create table policy.exceptions (tenant_id text not null, id int not null, primary key (tenant_id, id));\n',
    );
    const before = readFileSync(generated, 'utf8');
    const check = await runCli(['codegen', '--check'], {}, root);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain('+export interface PolicyExceptions {');
    expect(check.stdout).toMatch(/^-.*migrations-hash: /m);
    expect(check.stdout).toContain('run "pnpm codegen"');
    expect(readFileSync(generated, 'utf8')).toBe(before); // --check writes nothing
    const json = await runCli(['codegen', '--check', '--json'], {}, root);
    expect(json.code).toBe(3);
    expect((json.json.results as { state: string }[])[0]?.state).toBe('stale');
  });
});

describe('stella-db up / status / url / down', () => {
  it('refuses a misspelt backend before starting anything, naming the allowed values', async () => {
    const run = await runCli(['up'], { Persistence__Policy: 'Postgre' }, root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Persistence\.Policy.*Postgre.*Mongo.*Postgres/s);
    expect((await runCli(['status'], {}, root)).stdout).toMatch(/not running/);
  });

  it('starts the local server, creates roles, migrates modules on Postgres, regenerates stale types', async () => {
    const run = await runCli(['up'], { Persistence__Policy: 'Postgres' }, root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/local PostgreSQL \(PostgreSQL 16\.\d+, initialized/);
    expect(run.stdout).toMatch(/Policy\s+Postgres\s+2\s+0\s+V002__exceptions\s+regenerated/);
    expect(run.stdout).toMatch(/Authority\s+Mongo/);
    expect(run.stdout).toMatch(/app role connection string: postgres:\/\/stellaops_app:\*\*\*@127\.0\.0\.1:\d+\/stellaops/);
    expect(run.stdout).toMatch(/app role check: ok \(stellaops_app: /);
    expect(run.stdout).toContain('export Postgres__TenantKey=$(stella-db url --tenant-key) Postgres__TenantKeyId=k1');
    expect(readFileSync(generated, 'utf8')).toContain('export interface PolicyExceptions {');
    expect((await runCli(['codegen', '--check'], {}, root)).code).toBe(0);
  });

  it('a second up has nothing to do; url gives a working app-role connection that owns nothing', async () => {
    const keyFile = join(root, '.stellaops', 'tenant-key.json');
    const key = readFileSync(keyFile, 'utf8');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = await runCli(['up'], { Persistence__Policy: 'Postgres' }, root);
    expect(readFileSync(keyFile, 'utf8')).toBe(key); // generated once, never rotated by a rerun
    const printed = (await runCli(['url', '--tenant-key'], {}, root)).stdout.trim();
    expect(printed).toBe((JSON.parse(key) as { key: string }).key);
    expect(again.stdout).not.toContain(printed);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already-running/);
    expect(again.stdout).toMatch(/Policy\s+Postgres\s+2\s+0\s+V002__exceptions\s+current/);
    const url = (await runCli(['url', '--role', 'app'], {}, root)).stdout.trim();
    expect(url).toMatch(/^postgres:\/\/stellaops_app:[^*@]+@127\.0\.0\.1:\d+\/stellaops$/);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query<{ user: string; owned: number; bypass: boolean }>(
        `select current_user as user, (select count(*)::int from pg_class where relowner = (select oid from pg_roles where rolname = current_user)) as owned,
                (select rolbypassrls from pg_roles where rolname = current_user) as bypass`,
      );
      expect(r.rows[0]).toEqual({ user: 'stellaops_app', owned: 0, bypass: false });
      // least privilege: no TEMP, no DO blocks, no dynamic-SQL built-ins, the key table out of reach
      const priv = await c.query(`select has_database_privilege(current_user, current_database(), 'TEMP') as temp`);
      expect(priv.rows[0]).toEqual({ temp: false });
      for (const refused of [
        `do $$ begin end $$`,
        `select query_to_xml('select 1', true, false, '')`,
        `select * from stellaops_security.tenant_keys`,
      ]) {
        await expect(c.query(refused), refused).rejects.toMatchObject({ code: '42501' });
      }
      // a tenant set by SQL alone verifies to nothing
      await c.query(`begin; select set_config('app.tenant_id', 'acme', true)`);
      expect((await c.query('select stellaops_security.current_tenant() as t')).rows[0]).toEqual({ t: null });
      await c.query('rollback');
      // with the local key's proof the app writes a row (tagged by default with the session's tag) and reads it back;
      // the same tenant without the proof, or another tenant with its own, sees nothing
      const tenantKey = new TenantKey('k1', (JSON.parse(key) as { key: string }).key);
      const asTenant = async (tenant: string, proof: string | null, sql: string): Promise<unknown[]> => {
        await c.query('begin');
        try {
          await c.query("select set_config('app.tenant_id', $1, true), set_config('app.tenant_proof', $2, true)", [tenant, proof ?? '']);
          return (await c.query(sql)).rows;
        } finally {
          await c.query('commit');
        }
      };
      expect(
        await asTenant(
          'acme',
          tenantKey.proofFor('acme'),
          "insert into policy.rules (tenant_id, id, name) values ('acme', 1, 'r') returning name",
        ),
      ).toEqual([{ name: 'r' }]);
      expect(await asTenant('acme', tenantKey.proofFor('acme'), 'select name from policy.rules')).toEqual([{ name: 'r' }]);
      expect(await asTenant('acme', null, 'select name from policy.rules')).toEqual([]);
      expect(await asTenant('globex', tenantKey.proofFor('globex'), 'select name from policy.rules')).toEqual([]);
      const owner = await c.query<{ owner: string }>(
        "select tableowner as owner from pg_tables where schemaname = 'policy' and tablename = 'rules'",
      );
      expect(owner.rows[0]?.owner).toBe('stellaops_owner');
    } finally {
      await c.end();
    }
    const status = await runCli(['status'], {}, root);
    expect(status.stdout).toMatch(/local PostgreSQL running/);
    expect(status.stdout).toMatch(/policy\s+2\s+0\s+V002__exceptions\s+current/);
  });

  it('down stops it and status says so; no password is printed by up or status', async () => {
    const up = await runCli(['up'], { Persistence__Policy: 'Postgres' }, root);
    const url = (await runCli(['url', '--role', 'app'], {}, root)).stdout.trim();
    const password = decodeURIComponent(new URL(url).password);
    expect(up.stdout).not.toContain(password);
    const down = await runCli(['down'], {}, root);
    expect(down.stdout).toBe('local PostgreSQL stopped\n');
    const status = await runCli(['status'], {}, root);
    expect(status.stdout).toMatch(/not running/);
    expect(status.stdout).not.toContain(password);
    expect((await runCli(['url'], {}, root)).code).toBe(2);
  });
});
