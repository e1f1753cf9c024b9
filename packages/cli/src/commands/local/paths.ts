import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { LocalServer, serverStateDir } from '@stellaops/embedded-server';
import { findWorkspaceRoot } from '../../codegen/workspace-modules.js';

/** The workspace root (or the working directory outside one) and its `.stellaops` state folder. */
export function localPaths(cwd: string): { root: string; stateDir: string } {
  const root = findWorkspaceRoot(cwd) ?? cwd;
  return { root, stateDir: join(root, '.stellaops') };
}

/**
 * The local server of the workspace at `cwd`. Credentials stay in
 * `.stellaops/`; what the server's OS user must reach (data, log, binary copy)
 * goes where embedded-server's `serverStateDir` puts it (`.stellaops/local`,
 * or `/var/lib/stellaops/<checkout id>/local` — `STELLAOPS_SERVER_DIR` — when
 * root runs a checkout in a private folder), recorded in `.stellaops/`.
 * A checkout whose data already lives in `.stellaops/pgdata` keeps it there.
 */
export function localServer(cwd: string, env: Readonly<Record<string, string | undefined>>): LocalServer {
  const { root, stateDir } = localPaths(cwd);
  const legacy = lstatSync(join(stateDir, 'pgdata'), { throwIfNoEntry: false }) !== undefined;
  const serverDir = legacy ? stateDir : serverStateDir(root, 'local', { stateDir, base: env.STELLAOPS_SERVER_DIR?.trim() || undefined });
  return new LocalServer({ rootDir: stateDir, serverDir });
}
