import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** A module package found in the workspace. */
export interface WorkspaceModule {
  /** Short name (`authority` for `@stellaops/module-authority`). */
  name: string;
  /** Package name. */
  packageName: string;
  /** Package folder. */
  dir: string;
}

/** The nearest folder at or above `from` holding `pnpm-workspace.yaml`, if any. */
export function findWorkspaceRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Module packages (`@stellaops/module-*`) under `<root>/packages/modules`, sorted by name. */
export function workspaceModules(root: string): WorkspaceModule[] {
  const base = join(root, 'packages', 'modules');
  if (!existsSync(base)) return [];
  const found: WorkspaceModule[] = [];
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const pkgFile = join(base, entry.name, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string };
    const m = /^@stellaops\/module-(.+)$/.exec(pkg.name ?? '');
    if (m) found.push({ name: m[1]!, packageName: pkg.name!, dir: join(base, entry.name) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
