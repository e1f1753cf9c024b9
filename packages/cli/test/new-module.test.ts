import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PREVIOUS_SESSION_TAG_SQL, SESSION_TAG_SQL, tenantTagRotationSql } from '@stellaops/postgres-core';
import { catalogEntries } from '../src/commands/new/generate-module.js';
import { registerPersistenceModule } from '../src/commands/new/persistence-registration.js';
import { runCli } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A workspace skeleton: pnpm-workspace.yaml, one module package and PersistenceOptions' source file. */
function skeleton(): string {
  const root = mkdtempSync(join(tmpdir(), 'stella-new-'));
  made.push(root);
  writeFileSync(
    join(root, 'pnpm-workspace.yaml'),
    'packages:\n  - packages/modules/*\ncatalog:\n  vitest: 4.1.12\n  "@types/pg": ^8.15.0\n',
  );
  mkdirSync(join(root, 'packages', 'modules', 'notify'), { recursive: true });
  writeFileSync(
    join(root, 'packages', 'modules', 'notify', 'package.json'),
    JSON.stringify({ name: '@stellaops/module-notify', dependencies: { kysely: '^0.28.19' } }),
  );
  const options = join(root, 'packages', 'postgres-core', 'src', 'persistence', 'persistence-options.ts');
  mkdirSync(dirname(options), { recursive: true });
  cpSync(join(repoRoot, 'packages', 'postgres-core', 'src', 'persistence', 'persistence-options.ts'), options);
  return root;
}

describe('stella-db new module: names and files', () => {
  it('refuses bad names with the rule, existing modules and reserved words, writing nothing', async () => {
    const root = skeleton();
    for (const [name, message] of [
      [
        'Scheduler',
        /module name "Scheduler" is invalid: use a lowercase letter, then lowercase letters and digits \(\[a-z\]\[a-z0-9\]\*\), at most 30 characters/,
      ],
      ['1st', /is invalid/],
      ['job-runner', /is invalid/],
      ['a'.repeat(31), /at most 30 characters/],
      ['notify', /module "notify" exists already/],
      ['select', /module name "select" is reserved .*PostgreSQL key word/],
      ['cli', /is reserved/],
    ] as const) {
      const run = await runCli(['new', 'module', name, '--no-install'], {}, root);
      expect(run.code, name).toBe(2);
      expect(run.stderr, name).toMatch(message);
      expect(run.stderr).toContain('stella-db new module --help');
      expect(existsSync(join(root, 'packages', 'modules', name))).toBe(name === 'notify');
    }
    const table = await runCli(['new', 'module', 'jobs', '--table', 'Bad-Table', '--no-install'], {}, root);
    expect(table.code).toBe(2);
    expect(table.stderr).toMatch(/table name "Bad-Table" is invalid/);
  });

  it('--no-install writes the package (catalog versions where the catalog has them), pins V001 and registers PersistenceOptions once', async () => {
    const root = skeleton();
    const run = await runCli(['new', 'module', 'jobs', '--table', 'job_definitions', '--no-install', '--json'], {}, root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      command: 'module',
      module: 'jobs',
      package: '@stellaops/module-jobs',
      persistence: 'registered',
      installed: false,
    });
    const dir = join(root, 'packages', 'modules', 'jobs');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg.exports).toEqual({ '.': { '@stellaops/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } });
    expect(pkg.scripts).toMatchObject({ codegen: 'STELLA_DB_FROM_SOURCE=1 stella-db codegen --module jobs', test: 'vitest run' });
    expect(pkg.dependencies).toMatchObject({ kysely: '^0.28.19', '@stellaops/postgres-core': 'workspace:*' });
    expect(pkg.devDependencies).toMatchObject({ vitest: 'catalog:', '@types/pg': 'catalog:', '@stellaops/module-testkit': 'workspace:*' });
    const migration = readFileSync(join(dir, 'src', 'migrations', 'v001-job-definitions.ts'), 'utf8');
    expect(migration).toContain("id: 'V001_JobDefinitions'");
    expect(migration).toContain('primary key (tenant_id, id)');
    // the verified tenant (postgres-core's CURRENT_TENANT_FUNCTION) for the default and the policy's WITH CHECK
    expect(migration).toContain('tenant_id text not null default stellaops_security.current_tenant(),');
    expect(migration).toContain(
      `with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select ${SESSION_TAG_SQL}))`,
    );
    // reads compare the row tag with the session's (the session_tag() body written out, once per statement), not current_tenant() per statement
    expect(migration).toContain(
      `using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select ${SESSION_TAG_SQL}) or tenant_tag = (select ${PREVIOUS_SESSION_TAG_SQL})))`,
    );
    expect(migration).not.toMatch(/using \((?:(?!with check)[^;])*current_tenant/);
    // the tag column, its default and the triggers that tag an owner's rows, re-tag a moved row and move an old-key row to the session's key
    expect(migration).toContain(`alter table "jobs"."job_definitions" alter column tenant_tag set default ${SESSION_TAG_SQL};`);
    expect(migration).toContain(
      `create trigger "job_definitions_tenant_tag_fill" before insert on "jobs"."job_definitions" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');`,
    );
    expect(migration).toContain('create trigger "job_definitions_tenant_tag_retag" before update of "tenant_id"');
    const [dropRotate, createRotate] = tenantTagRotationSql({ schema: 'jobs', table: 'job_definitions' });
    expect(createRotate).toMatch(
      /^create trigger "job_definitions_tenant_tag_rotate" before update on "jobs"\."job_definitions" for each row when \(new\.tenant_tag = .*'app\.tenant_proof_previous'.*\) execute function stellaops_security\.rotate_tenant_tag\(\)$/,
    );
    expect(migration).toContain(`${dropRotate};\n${createRotate};`);
    // the tests connect as the app role through module-testkit's helper, not a copied support file
    expect(readFileSync(join(dir, 'test', 'job-definition-repository.test.ts'), 'utf8')).toContain(
      "useModuleRoles<DB>(db, { module: 'Jobs', roles: [APP_ROLE] })",
    );
    expect(existsSync(join(dir, 'test', 'support'))).toBe(false);
    // the owner suite installs no tenant key: the seed installs one before its tagless insert (the fill trigger needs it)
    const ownerTest = readFileSync(join(dir, 'test', 'owner-migration.test.ts'), 'utf8');
    expect(ownerTest).toContain('insert into stellaops_security.tenant_keys');
    expect(ownerTest).toContain("`${SEED_KEY}; insert into jobs.job_definitions (tenant_id, name) values ('acme', 'first')`");
    expect(migration).toContain('alter table "jobs"."job_definitions" force row level security');
    expect(migration).toContain('grant select, insert, update, delete on all tables in schema "jobs" to "stellaops_app"');
    expect(migration).not.toMatch(/tenantIsolationSql|appRoleGrantsSql/); // literal SQL, no helper calls
    expect(readFileSync(join(dir, 'src', 'index.ts'), 'utf8')).toContain(
      "export { JobDefinitionRepository, type CreateJobDefinitionInput } from './job-definitions/job-definition-repository.js';",
    );
    const pins = JSON.parse(readFileSync(join(dir, 'migrations.lock.json'), 'utf8')) as {
      schema: string;
      migrations: Record<string, string>;
    };
    expect(pins.schema).toBe('jobs');
    expect(Object.keys(pins.migrations)).toEqual(['V001_JobDefinitions']);
    const options = readFileSync(join(root, 'packages', 'postgres-core', 'src', 'persistence', 'persistence-options.ts'), 'utf8');
    expect(options).toContain("'Notify', 'Policy', 'Jobs'] as const;");
    expect(options).toMatch(/ {8}Policy: backend,\n {8}Jobs: backend,\n/);
    expect(registerPersistenceModule(root, 'Jobs', [])).toBe('present');
    expect(registerPersistenceModule(root, 'Scheduler', [])).toBe('present');
  });

  it('reads the default catalog of pnpm-workspace.yaml in both spellings', () => {
    expect([
      ...catalogEntries('packages:\n  - a\ncatalog:\n  vitest: 4.1.12\n  "@types/pg": ^8\n  # note\n\nallowBuilds:\n  esbuild: true\n'),
    ]).toEqual(['vitest', '@types/pg']);
    expect([...catalogEntries('catalogs:\n  default:\n    kysely: ^0.28.19\n  other:\n    pg: 8\n')]).toEqual(['kysely']);
    expect(catalogEntries('packages:\n  - a\n').size).toBe(0);
  });
});

/** Runs a command in the throwaway workspace; resolves with its output, rejects with it on failure. */
function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: {
        ...process.env,
        STELLA_DB_FROM_SOURCE: '1',
        VITEST: undefined,
        VITEST_POOL_ID: undefined,
        VITEST_WORKER_ID: undefined,
        NODE_OPTIONS: undefined,
        // the generated module's own test run must not write reports into this run's report folder (CI totals)
        STELLAOPS_TEST_REPORT_DIR: undefined,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stripVTControlCharacters(out))
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${String(code)}:\n${out.slice(-4000)}`)),
    );
  });
}

describe('stella-db new module in a throwaway copy of the workspace', () => {
  // Slow by nature (install, a module test run, a local server): one test, bounded by its timeout.
  it('generates a module whose tests, typecheck and lint pass and that stella-db up --all migrates', { timeout: 600_000 }, async () => {
    const copy = mkdtempSync(join(tmpdir(), 'stella-ws-copy-'));
    made.push(copy);
    chmodSync(copy, 0o755); // the local server's OS user must reach .stellaops/
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    for (const f of files) if (existsSync(join(repoRoot, f))) cpSync(join(repoRoot, f), join(copy, f), { recursive: true });
    const cli = join(copy, 'packages', 'cli', 'bin', 'stella-db.js');
    try {
      await sh('pnpm', ['install', '--offline', '--frozen-lockfile'], copy);
      const created = await sh(process.execPath, [cli, 'new', 'module', 'widgets'], copy);
      expect(created).toContain('created packages/modules/widgets (@stellaops/module-widgets, schema widgets)');
      expect(created).toContain('PersistenceOptions: registered');
      expect(readFileSync(join(copy, 'packages', 'modules', 'widgets', 'src', 'generated', 'db.ts'), 'utf8')).toContain(
        '"widgets.items": WidgetsItems;',
      );
      const tests = await sh('pnpm', ['--filter', '@stellaops/module-widgets', 'test'], copy);
      expect(tests).toMatch(/Tests\s+8 passed/);
      await sh('pnpm', ['--filter', '@stellaops/module-widgets', '--filter', '@stellaops/postgres-core', 'typecheck'], copy);
      await sh('pnpm', ['--filter', '@stellaops/module-widgets', 'lint'], copy);
      // stella-db lint (docs/RULES.md): the generated migration has no finding, waived or not (tag column, all three triggers, policy)
      const lint = JSON.parse(await sh(process.execPath, [cli, 'lint', '--module', 'widgets', '--json'], copy)) as {
        ok: boolean;
        modules: Array<{ module: string; migrations: number; findings: unknown[] }>;
      };
      expect(lint.ok).toBe(true);
      expect(lint.modules).toEqual([{ module: 'widgets', schema: 'widgets', migrations: 1, findings: [] }]);
      const up = JSON.parse(await sh(process.execPath, [cli, 'up', '--all', '--no-codegen', '--json'], copy)) as {
        modules: Array<Record<string, unknown>>;
      };
      expect(up.modules.find((m) => m.module === 'Widgets')).toMatchObject({
        backend: 'Postgres',
        applied: 1,
        pending: 0,
        last: 'V001_Items',
      });
    } finally {
      await sh(process.execPath, [cli, 'down'], copy).catch(() => undefined);
    }
  });
});
