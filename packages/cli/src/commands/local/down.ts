import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { runCommand } from '../../command/run-command.js';
import { localServer } from './paths.js';

/** `stella-db down`: stops the local PostgreSQL (data is kept). */
export function downCommand(ctx: CliContext): Command {
  return new Command('down')
    .description('stop the local PostgreSQL started by "stella-db up" (its data is kept)')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { json?: boolean }) =>
      runCommand('down', { json: opts.json === true }, ctx, async () => {
        const stopped = await localServer(ctx.cwd, ctx.env).down();
        return {
          doc: { stopped },
          human: stopped ? 'local PostgreSQL stopped\n' : 'local PostgreSQL was not running\n',
          exitCode: ExitCode.Ok,
        };
      }),
    );
}
