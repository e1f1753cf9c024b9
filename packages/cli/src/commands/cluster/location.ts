// The one place that decides where a cluster's state lives. Swap for the shared
// `serverStateDir(workspaceRoot, purpose)` of @stellaops/embedded-server once it exists.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { canTraverse, ensurePrivateDir, serverRunAs, type RunAs } from '@stellaops/embedded-server';
import { findWorkspaceRoot } from '../../codegen/workspace-modules.js';
import { UsageError } from '../../usage-error.js';

/** Parent of the per-checkout cluster folders when running as root. */
export const ROOT_STATE_PARENT = '/var/lib/stellaops';

/**
 * The cluster's root folder: `--dir` when given; as root
 * `/var/lib/stellaops/cluster-<12 hex of sha256(workspace path)>` (the
 * server's OS user `postgres` cannot reach a checkout under /root);
 * otherwise `<workspace>/.stellaops/cluster`. Nothing is created.
 */
export function clusterRoot(cwd: string, dir: string | undefined): string {
  if (dir !== undefined) return resolve(cwd, dir);
  const workspace = findWorkspaceRoot(cwd) ?? cwd;
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    return join(ROOT_STATE_PARENT, `cluster-${createHash('sha256').update(workspace).digest('hex').slice(0, 12)}`);
  }
  return join(workspace, '.stellaops', 'cluster');
}

/**
 * Creates (or checks) the cluster's root folder: owned by this user, no
 * symlink, mode 0711 when the server runs as another OS user (it may pass
 * through, not list) and 0700 otherwise; its parents must let that user through.
 */
export function prepareClusterRoot(root: string): RunAs | undefined {
  const runAs = serverRunAs();
  if (root.startsWith(`${ROOT_STATE_PARENT}/`)) ensurePrivateDir(ROOT_STATE_PARENT, runAs);
  if (runAs && !canTraverse(resolve(root, '..'), runAs)) {
    throw new UsageError(
      `The cluster folder ${root} is below a folder the server's OS user "${runAs.name}" cannot pass through (e.g. /root or a mktemp -d folder, mode 0700). ` +
        `Fix: leave --dir out (the default ${ROOT_STATE_PARENT}/cluster-… works as root), or choose a folder under /var/lib or /dev/shm.`,
    );
  }
  ensurePrivateDir(root, runAs);
  return runAs;
}
