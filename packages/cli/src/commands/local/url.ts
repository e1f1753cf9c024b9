import { Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { describeLocalEnvironment, savedTenantKey } from '../../local/local-environment.js';
import { UsageError } from '../../usage-error.js';
import { runCommand } from '../../command/run-command.js';
import { localPaths, localServer } from './paths.js';

/** `stella-db url`: prints one full connection string of the local environment (for your shell; includes the password). */
export function urlCommand(ctx: CliContext): Command {
  return new Command('url')
    .description('print a full connection string of the local server, password included (e.g. export DATABASE_URL=$(stella-db url))')
    .addOption(new Option('--role <role>', 'which role').choices(['app', 'owner', 'superuser']).default('app'))
    .option(
      '--tenant-key',
      'print the tenant key services sign tenant ids with instead (export Postgres__TenantKey=$(stella-db url --tenant-key))',
    )
    .action(async (opts: { role: 'app' | 'owner' | 'superuser'; tenantKey?: boolean }) =>
      runCommand('url', {}, ctx, async () => {
        if (opts.tenantKey) {
          const key = savedTenantKey(localPaths(ctx.cwd).stateDir);
          if (!key)
            throw new UsageError('no local tenant key yet: run "stella-db up" first (it generates .stellaops/tenant-key.json once)');
          return { doc: {}, human: `${key.key}\n`, exitCode: ExitCode.Ok };
        }
        const env = describeLocalEnvironment(localPaths(ctx.cwd).stateDir, localServer(ctx.cwd, ctx.env));
        const url = opts.role === 'superuser' ? env.status.superuserUrl : opts.role === 'owner' ? env.ownerUrl : env.appUrl;
        if (!url) throw new UsageError('the local PostgreSQL is not running (or was never set up): run "stella-db up" first');
        return { doc: {}, human: `${url}\n`, exitCode: ExitCode.Ok };
      }),
    );
}
