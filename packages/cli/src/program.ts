import { Command, type CommanderError } from 'commander';
import { backupCommand } from './commands/backup/index.js';
import { clusterCommand } from './commands/cluster/index.js';
import { codegenCommand } from './commands/codegen/index.js';
import { lintCommand } from './commands/lint/index.js';
import { downCommand } from './commands/local/down.js';
import { statusCommand } from './commands/local/status.js';
import { upCommand } from './commands/local/up.js';
import { urlCommand } from './commands/local/url.js';
import { migrateCommand } from './commands/migrate/index.js';
import { newCommand } from './commands/new/index.js';
import { tenantKeyCommand } from './commands/tenant-key/index.js';
import type { CliContext } from './context.js';

/** The CLI's version (shown by `--version`). */
export const CLI_VERSION = '0.1.0';

/**
 * Builds the `stella-db` program: the local server (`up`, `down`, `status`,
 * `url`), `migrate …`, `codegen` and `new module`. A command group registers here (a
 * `src/commands/<group>/…` returning a `Command`, its actions run through
 * `runCommand` from `src/command/run-command.ts`).
 * Output goes to the context's streams; commander never exits the process.
 */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('stella-db')
    .description(
      "StellaOps data layer CLI, the project's one command for PostgreSQL: a local server (up, down, status, url), migrations (migrate …), generated types (codegen), new module packages (new module), the database rules (lint) and tenant key rotation (tenant-key)",
    )
    .version(CLI_VERSION)
    .addCommand(upCommand(ctx))
    .addCommand(downCommand(ctx))
    .addCommand(statusCommand(ctx))
    .addCommand(urlCommand(ctx))
    .addCommand(migrateCommand(ctx))
    .addCommand(codegenCommand(ctx))
    .addCommand(clusterCommand(ctx))
    .addCommand(backupCommand(ctx))
    .addCommand(newCommand(ctx))
    .addCommand(tenantKeyCommand(ctx))
    .addCommand(lintCommand(ctx));
  configureAll(program, (cmd) =>
    cmd
      .exitOverride()
      .showHelpAfterError('(add --help for usage)')
      .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) }),
  );
  return program;
}

function configureAll(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) configureAll(sub, fn);
}

/** Exit code for a commander error: 0 for help/version, 2 (usage) otherwise. */
export function exitCodeOfCommanderError(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  return 2;
}
