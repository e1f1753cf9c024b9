import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, type CommonOptions } from './shared.js';

interface AcceptOptions extends CommonOptions {
  id?: string[];
}

/** `stella-db migrate accept`: records the current checksum of changed applied migrations (repair). */
export function acceptCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('accept')
      .description('record the current checksum of applied migrations whose source changed (after review), or that have none')
      .option('--id <id...>', 'only these migrations (default: every drifted one)'),
  ).action(async (opts: AcceptOptions) =>
    runCommand('migrate accept', opts, ctx, async () => {
      const { migrator, target, schema } = await createMigrator(opts, ctx);
      const r = await migrator.accept(opts.id);
      const human =
        r.accepted.length === 0
          ? `nothing to accept in schema ${schema} (${target})\n`
          : renderTable(
              ['ID', 'PREVIOUS CHECKSUM', 'NEW CHECKSUM'],
              r.accepted.map((a) => [a.id, a.previousChecksum, a.checksum]),
            ) + `\naccepted ${r.accepted.length} checksum(s) in schema ${schema} (${target})\n`;
      return { doc: { schema, accepted: r.accepted }, human, exitCode: ExitCode.Ok };
    }),
  );
}
