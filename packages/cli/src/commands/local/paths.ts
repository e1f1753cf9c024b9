import { join } from 'node:path';
import { findWorkspaceRoot } from '../../codegen/workspace-modules.js';

/** The workspace root (or the working directory outside one) and its `.stellaops` state folder. */
export function localPaths(cwd: string): { root: string; stateDir: string } {
  const root = findWorkspaceRoot(cwd) ?? cwd;
  return { root, stateDir: join(root, '.stellaops') };
}
