import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MigrationSet } from '@stellaops/migrator';
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
 * the package `@stellaops/module-<name>` (resolved from the working directory,
 * then from the CLI), which exports `migrations` — a
 * `defineMigrationSet({ schema, migrations })` — or has it as default export.
 */
export async function resolveModule(name: string, cwd: string): Promise<MigrationSet> {
  const own = registered.get(name);
  if (own) return own();
  const pkg = modulePackageName(name);
  let mod: Record<string, unknown>;
  try {
    let target = pkg;
    try {
      target = pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(pkg)).href;
    } catch {
      // not resolvable from the working directory: try from the CLI itself
    }
    mod = (await import(target)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`unknown module "${name}": cannot load package ${pkg} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`, { cause: error });
  }
  const set = (mod.migrations ?? mod.default) as Partial<MigrationSet> | undefined;
  if (!set || typeof set.schema !== 'string' || set.migrations === undefined) {
    throw new UsageError(`package ${pkg} does not export "migrations" (a defineMigrationSet({ schema, migrations }))`);
  }
  return set as MigrationSet;
}
