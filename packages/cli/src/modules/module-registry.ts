import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MigrationSet } from '@stellaops/migrator';
import { findWorkspaceRoot, workspaceModules } from '../codegen/workspace-modules.js';
import { UsageError } from '../usage-error.js';

/** Loads a module's migration set. */
export type ModuleLoader = () => Promise<MigrationSet>;

const registered = new Map<string, ModuleLoader>();

/**
 * Registers a module under a short name, so `--module <name>` finds it
 * without package resolution (e.g. modules the CLI bundles).
 */
export function registerModule(name: string, loader: ModuleLoader): void {
  registered.set(name, loader);
}

/** The package a module name stands for: `authority` → `@stellaops/module-authority`; a package name stays as is. */
export function modulePackageName(name: string): string {
  return name.startsWith('@') || name.includes('/') ? name : `@stellaops/module-${name}`;
}

/**
 * Resolves `--module <name>` to its migration set: a registered module, else
 * the package `@stellaops/module-<name>` — resolved from the working
 * directory, from the workspace's `packages/modules/*` (so it works from the
 * repository root), then from the CLI itself — which exports `migrations`
 * (a `defineMigrationSet({ schema, migrations })`) or has it as default export.
 */
export async function resolveModule(name: string, cwd: string): Promise<MigrationSet> {
  const own = registered.get(name);
  if (own) return own();
  const { pkg, mod } = await importModulePackage(name, cwd);
  const set = (mod.migrations ?? mod.default) as Partial<MigrationSet> | undefined;
  if (!set || typeof set.schema !== 'string' || set.migrations === undefined) {
    throw new UsageError(`package ${pkg} does not export "migrations" (a defineMigrationSet({ schema, migrations }))`);
  }
  return set as MigrationSet;
}

/**
 * The database roles a module's migrations grant to (its `REQUIRED_ROLES`
 * export; none when it has no such export). `stella-db up` creates them with
 * `LOGIN` before migrating as an owner role without `CREATEROLE`.
 */
export async function moduleRequiredRoles(name: string, cwd: string): Promise<string[]> {
  if (registered.has(name)) return [];
  const { mod } = await importModulePackage(name, cwd);
  const roles = mod.REQUIRED_ROLES;
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}

async function importModulePackage(name: string, cwd: string): Promise<{ pkg: string; mod: Record<string, unknown> }> {
  const pkg = modulePackageName(name);
  try {
    return { pkg, mod: (await import(locate(pkg, cwd))) as Record<string, unknown> };
  } catch (error) {
    throw new UsageError(
      `unknown module "${name}": cannot load package ${pkg} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      { cause: error },
    );
  }
}

function locate(pkg: string, cwd: string): string {
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(pkg)).href;
  } catch {
    // not a dependency of the working directory's package
  }
  const root = findWorkspaceRoot(cwd);
  const found = root ? workspaceModules(root).find((m) => m.packageName === pkg) : undefined;
  if (found) {
    const entry = workspaceEntry(found.dir);
    if (entry) return pathToFileURL(entry).href;
  }
  return pkg; // from the CLI's own dependencies
}

/**
 * The entry file of a workspace module package: its source (`@stellaops/source`
 * condition) when this process resolves workspace packages from source (tsx,
 * vitest), else its build; whichever exists.
 */
function workspaceEntry(dir: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  const dot = pkg.exports?.['.'];
  const entry = typeof dot === 'object' && dot !== null ? (dot as Record<string, unknown>) : {};
  const fromSource =
    [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('@stellaops/source')) || process.env.VITEST !== undefined;
  const keys = fromSource ? ['@stellaops/source', 'import', 'default'] : ['import', 'default', '@stellaops/source'];
  for (const key of keys) {
    const rel = entry[key];
    if (typeof rel === 'string' && existsSync(join(dir, rel))) return join(dir, rel);
  }
  return undefined;
}
