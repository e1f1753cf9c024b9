import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { formatMs, runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, type CommonOptions } from './shared.js';

interface UpOptions extends CommonOptions {
  to?: string;
  allowOutOfOrder?: boolean;
  ignoreMissing?: boolean;
}

/** `stella-db migrate up`: applies pending migrations, each in its own transaction. */
export function upCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('up')
      .description('apply pending migrations (each in its own transaction, in id order)')
      .option('--to <id>', 'apply up to and including this migration')
      .option('--allow-out-of-order', 'apply pending migrations older than the newest applied one')
      .option('--ignore-missing', 'tolerate applied migrations missing from the source'),
  ).action(async (opts: UpOptions) =>
    runCommand('migrate up', opts, ctx, async () => {
      const { migrator, target, schema } = await createMigrator(opts, ctx);
      const report = await migrator.up({ to: opts.to, allowOutOfOrder: opts.allowOutOfOrder, ignoreMissing: opts.ignoreMissing });
      const n = report.results.length;
      const human =
        n === 0
          ? `schema ${schema} is up to date (${target})\n`
          : renderTable(
              ['ID', 'STATUS', 'TX', 'DURATION'],
              report.results.map((r) => [r.id, r.status, r.inTransaction ? 'yes' : 'no', formatMs(r.durationMs)]),
            ) + `\napplied ${n} migration${n > 1 ? 's' : ''} to schema ${schema} in ${formatMs(report.durationMs)} (${target})\n`;
      return {
        doc: { schema, results: report.results, lockWaitMs: Math.round(report.lockWaitMs), durationMs: Math.round(report.durationMs) },
        human,
        exitCode: ExitCode.Ok,
      };
    }),
  );
}
