import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { runCommand } from '../../command/run-command.js';
import { DIR_HELP, openCluster } from './open-cluster.js';
import { renderClusterStatus } from './status-render.js';

/** `stella-db cluster down`: stops PgBouncer, then PostgreSQL (fast shutdown); the data stays. */
export function clusterDownCommand(ctx: CliContext): Command {
  return new Command('down')
    .description('stop the cluster (PgBouncer, then PostgreSQL); data, certificates and passwords stay')
    .option('--dir <folder>', DIR_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { dir?: string; json?: boolean }) =>
      runCommand('cluster down', { json: opts.json === true }, ctx, async () => {
        const status = await openCluster(opts, ctx).down();
        return { doc: { ...status }, human: renderClusterStatus(status), exitCode: ExitCode.Ok };
      }),
    );
}
