import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { runCommand } from '../../command/run-command.js';
import { DIR_HELP, openCluster } from './open-cluster.js';
import { renderClusterStatus } from './status-render.js';

/** `stella-db cluster status`: each component, its port, TLS, pool use, settings differing from the computed ones. */
export function clusterStatusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description('show each component (state, port, TLS, pool use) and the settings that differ from the computed ones')
    .option('--dir <folder>', DIR_HELP)
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', '\nExit codes: 0 every component running, 1 something stopped or crashed (or failed), 2 usage error.')
    .action(async (opts: { dir?: string; json?: boolean }) =>
      runCommand('cluster status', { json: opts.json === true }, ctx, async () => {
        const status = await openCluster(opts, ctx).status();
        return { doc: { ...status }, human: renderClusterStatus(status), exitCode: status.healthy ? ExitCode.Ok : ExitCode.Failed };
      }),
    );
}
