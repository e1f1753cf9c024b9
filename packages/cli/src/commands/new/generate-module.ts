import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defineMigration, resolveMigrations } from '@stellaops/migrator';
import {
  appRoleGrantsSql,
  createRoleIfMissingSql,
  CURRENT_TENANT_FUNCTION,
  DEFAULT_APP_ROLE,
  PERSISTENCE_MODULES,
  tenantIsolationSql,
} from '@stellaops/postgres-core';
import { pascal, singular } from '../../codegen/type-aliases.js';
import { findWorkspaceRoot, workspaceModules } from '../../codegen/workspace-modules.js';
import { UsageError } from '../../usage-error.js';
import { MODULE_DEPENDENCIES, MODULE_DEV_DEPENDENCIES, moduleFiles, type ModuleSpec } from './module-templates.js';
import { validateModuleName, validateTableName } from './module-name.js';
import { registerPersistenceModule, type PersistenceRegistration } from './persistence-registration.js';

/** What {@link generateModule} takes. */
export interface GenerateModuleArgs {
  /** The module's name (and schema), e.g. `scheduler`. */
  name: string;
  /** The first table (default `items`). */
  table?: string;
  /** Any folder inside the workspace. */
  cwd: string;
  /** Run `pnpm install --offline` and the module's codegen afterwards (default true). */
  install?: boolean;
  /** Environment of the child processes. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/** What {@link generateModule} did. */
export interface GeneratedModule {
  name: string;
  packageName: string;
  /** The package folder. */
  dir: string;
  /** Files written, relative to the package folder. */
  files: string[];
  /** Whether PersistenceOptions gained the module or had it already. */
  persistence: PersistenceRegistration;
  /** Whether `pnpm install` and the codegen ran. */
  installed: boolean;
}

/** Versions new modules use when neither the catalog nor another module names one. */
const FALLBACK_VERSIONS: Readonly<Record<string, string>> = {
  kysely: '^0.28.19',
  '@types/node': '^20.19.0',
  '@types/pg': '^8.15.0',
  pg: '^8.23.1',
  tsx: '^4.20.0',
  typescript: '5.9.3',
  vite: '8.3.8',
  vitest: '4.1.12',
};

/**
 * Creates `packages/modules/<name>`: package, configs, a first frozen
 * migration (one tenant table, RLS, grants) written as literal SQL that
 * postgres-core's helpers produce now, its pin, roles, a repository, tests, a
 * README; registers the module in PersistenceOptions when it is new; then
 * installs and generates the module's types.
 *
 * @example
 * await generateModule({ name: 'scheduler', table: 'schedules', cwd: process.cwd() });
 */
export async function generateModule(args: GenerateModuleArgs): Promise<GeneratedModule> {
  const progress = args.progress ?? (() => undefined);
  const root = findWorkspaceRoot(args.cwd);
  if (!root)
    throw new UsageError(`no pnpm workspace (pnpm-workspace.yaml) at or above ${args.cwd}: run stella-db new module from the repository`);
  const existing = workspaceModules(root).map((m) => m.name);
  const name = validateModuleName(args.name, existing);
  const dir = join(root, 'packages', 'modules', name);
  if (existsSync(dir)) throw new UsageError(`packages/modules/${name} exists already: choose another name or remove that folder`);
  const table = validateTableName(args.table ?? 'items');
  const spec = await moduleSpec(root, name, table);

  progress(`[1/4] writing packages/modules/${name}`);
  const files = moduleFiles(spec);
  files['migrations.lock.json'] = await pinFile(spec);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  progress(`[2/4] PersistenceOptions: ${spec.title}`);
  const persistence = registerPersistenceModule(root, spec.title, PERSISTENCE_MODULES);
  const install = args.install ?? true;
  if (install) {
    const env = { ...process.env, ...args.env };
    progress('[3/4] pnpm install --offline --no-frozen-lockfile (links the new package, adds it to the lockfile)');
    // a new package must enter pnpm-lock.yaml: without the flag pnpm refuses under CI=true (frozen by default there)
    await run('pnpm', ['install', '--offline', '--no-frozen-lockfile'], root, env);
    progress(`[4/4] codegen: packages/modules/${name}/src/generated/db.ts`);
    await run('pnpm', ['--filter', `@stellaops/module-${name}`, 'run', 'codegen'], root, env);
    // the repository's formatter (CI runs `pnpm format:check`): the new package is committed formatted
    await run('pnpm', ['exec', 'prettier', '--write', '--log-level', 'warn', `packages/modules/${name}`], root, env);
  }
  return { name, packageName: `@stellaops/module-${name}`, dir, files: Object.keys(files).sort(), persistence, installed: install };
}

async function moduleSpec(root: string, name: string, table: string): Promise<ModuleSpec> {
  const row = pascal(singular(table));
  const migrationId = `V001_${pascal(table)}`;
  return {
    name,
    title: pascal(name),
    table,
    row,
    rowFile: singular(table).replace(/_/g, '-'),
    migrationId,
    migrationFile: `v001-${table.replace(/_/g, '-')}`,
    migrationConst: `v001${pascal(table)}`,
    v001: {
      description: `${table.replace(/_/g, ' ')}, RLS, app role grants`,
      up: v001Up(name, table),
      down: `drop table ${name}.${table}`,
    },
    versions: dependencyVersions(root),
  };
}

/**
 * The first migration's SQL, produced once by postgres-core's helpers and then
 * frozen in the generated file. `tenant_id` defaults to the verified tenant
 * (`CURRENT_TENANT_FUNCTION`) that the policy's `WITH CHECK` compares with;
 * `tenantIsolationSql` adds the row tag (`tenant_tag`, its default, the fill,
 * retag and key-rotation triggers) and the tag policy (reads compare `tenant_tag` with
 * `stellaops_security.session_tag()`). postgres-core's security migrations,
 * which define those functions, run before the module's as the same owner
 * (`stella-db up`, module-testkit's `templateMigrations`, the owner-migration
 * suite), and the tenant key is installed before any row exists.
 */
function v001Up(schema: string, table: string): string {
  return [
    createRoleIfMissingSql(DEFAULT_APP_ROLE),
    `create table ${schema}.${table} (
  tenant_id text not null default ${CURRENT_TENANT_FUNCTION},
  id uuid not null default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
)`,
    `create unique index ${table}_tenant_name_key on ${schema}.${table} (tenant_id, lower(name))`,
    ...tenantIsolationSql({ schema, table }),
    ...appRoleGrantsSql({ appRole: DEFAULT_APP_ROLE, schema, protectTables: ['_migrations'] }),
  ].join(';\n');
}

async function pinFile(spec: ModuleSpec): Promise<string> {
  const [resolved] = await resolveMigrations([
    defineMigration({ id: spec.migrationId, description: spec.v001.description, up: spec.v001.up, down: spec.v001.down }),
  ]);
  const pins = {
    schema: spec.name,
    note:
      'Checksums of applied migrations. An entry is never changed: a migration whose text changes fails the pin test; write a new migration instead. ' +
      'New migrations are pinned with UPDATE_MIGRATION_PINS=1 pnpm test (existing entries are never rewritten).',
    migrations: { [spec.migrationId]: resolved!.checksum },
  };
  return `${JSON.stringify(pins, null, 2)}\n`;
}

/**
 * Version specifiers for the module's external dependencies: `catalog:` when
 * pnpm-workspace.yaml's catalog has the package, else what the existing
 * modules use, else the project's known-good version.
 */
export function dependencyVersions(root: string): Record<string, string> {
  const catalog = catalogEntries(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8'));
  const used = new Map<string, string>();
  for (const m of workspaceModules(root)) {
    const pkg = JSON.parse(readFileSync(join(m.dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    for (const [dep, version] of Object.entries({ ...pkg.devDependencies, ...pkg.dependencies }))
      if (!used.has(dep)) used.set(dep, version);
  }
  const out: Record<string, string> = {};
  for (const dep of [...MODULE_DEPENDENCIES, ...MODULE_DEV_DEPENDENCIES])
    out[dep] = catalog.has(dep) ? 'catalog:' : (used.get(dep) ?? FALLBACK_VERSIONS[dep]!);
  return out;
}

/** Package names of the default catalog in pnpm-workspace.yaml (`catalog:` or `catalogs: default:`). */
export function catalogEntries(yaml: string): Set<string> {
  const names = new Set<string>();
  const lines = yaml.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const top = /^catalog:\s*$/.test(lines[i]!);
    const nested = /^catalogs:\s*$/.test(lines[i]!) && /^\s+default:\s*$/.test(lines[i + 1] ?? '');
    if (!top && !nested) continue;
    const start = top ? i + 1 : i + 2;
    const indent = top ? 1 : (/^(\s+)/.exec(lines[i + 1]!)?.[1]?.length ?? 0) + 1;
    for (let j = start; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      const lead = /^(\s*)/.exec(line)![1]!.length;
      if (lead < indent) break;
      const m = /^\s+(['"]?)([^'":\s]+)\1\s*:/.exec(line);
      if (m) names.add(m[2]!);
    }
  }
  return names;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string | undefined>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => reject(new Error(`could not run ${cmd} ${args.join(' ')}: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (exit ${String(code)}); its output ends with:\n${out.trim().split('\n').slice(-20).join('\n')}\nThe module's files are written: fix the cause and run that command again.`,
          ),
        );
    });
  });
}
