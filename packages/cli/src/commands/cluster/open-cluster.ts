import { Cluster, type ClusterOptions } from '@stellaops/cluster';
import type { CliContext } from '../../context.js';
import { cliComponents } from './components.js';
import { clusterRoot } from './location.js';

/** The `--dir` option every cluster command takes. */
export const DIR_HELP =
  'cluster folder; default: /var/lib/stellaops/cluster-<hash of the checkout path> as root, else <workspace>/.stellaops/cluster';

/**
 * The cluster of this checkout (or `--dir`), progress to stderr unless JSON
 * output, with the CLI's components after the built-in ones: the tenant proof
 * (security migrations, tenant key, app role hardening) and the WAL archiver's state.
 */
export function openCluster(opts: { dir?: string; json?: boolean }, ctx: CliContext, extra: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster({
    root: clusterRoot(ctx.cwd, opts.dir),
    ...(opts.json ? {} : { onProgress: (m: string) => ctx.stderr.write(`… ${m}\n`) }),
    ...extra,
    extraComponents: [...cliComponents(extra.moduleRoles), ...(extra.extraComponents ?? [])],
  });
}
