import { Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { describeLocalEnvironment } from '../../local/local-environment.js';
import { UsageError } from '../../usage-error.js';
import { runCommand } from '../../command/run-command.js';
import { localPaths, localServer } from './paths.js';

/** `stella-db url`: prints one full connection string of the local environment (for your shell; includes the password). */
export function urlCommand(ctx: CliContext): Command {
  return new Command('url')
    .description('print a full connection string of the local server, password included (e.g. export DATABASE_URL=$(stella-db url))')
    .addOption(new Option('--role <role>', 'which role').choices(['app', 'owner', 'superuser']).default('app'))
    .action(async (opts: { role: 'app' | 'owner' | 'superuser' }) =>
      runCommand('url', {}, ctx, async () => {
        const env = describeLocalEnvironment(localPaths(ctx.cwd).stateDir, localServer(ctx.cwd, ctx.env));
        const url = opts.role === 'superuser' ? env.status.superuserUrl : opts.role === 'owner' ? env.ownerUrl : env.appUrl;
        if (!url) throw new UsageError('the local PostgreSQL is not running (or was never set up): run "stella-db up" first');
        return { doc: {}, human: `${url}\n`, exitCode: ExitCode.Ok };
      }),
    );
}
