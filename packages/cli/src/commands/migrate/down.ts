import { Command } from 'commander';
import type { PlanDownOptions } from '@stellaops/migrator';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { UsageError } from '../../usage-error.js';
import { formatMs, parseNonNegativeInt, runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, type CommonOptions } from './shared.js';

interface DownOptions extends CommonOptions {
  to?: string;
  steps?: number;
  all?: boolean;
}

/** Which migrations `down` rolls back, from exactly one of --to, --steps, --all. */
export function downTarget(opts: { to?: string; steps?: number; all?: boolean }): PlanDownOptions {
  const given = [opts.to !== undefined, opts.steps !== undefined, opts.all === true].filter(Boolean).length;
  if (given !== 1) throw new UsageError('down needs exactly one of --to <id>, --steps <n>, --all');
  if (opts.to !== undefined) return { to: opts.to };
  if (opts.steps !== undefined) return { steps: opts.steps };
  return { all: true };
}

/** `stella-db migrate down`: rolls back to a target, refusing if any migration in range has no down. */
export function downCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('down')
      .description('roll back applied migrations, newest first; refuses before touching anything if one in range has no down')
      .option('--to <id>', 'roll back every migration after this one (it stays applied)')
      .option('--steps <n>', 'roll back the last n migrations', parseNonNegativeInt)
      .option('--all', 'roll back every applied migration'),
  ).action(async (opts: DownOptions) =>
    runCommand('migrate down', opts, ctx, async () => {
      const target = downTarget(opts);
      const { migrator, target: url, schema } = await createMigrator(opts, ctx);
      const report = await migrator.down(target);
      const n = report.results.length;
      const human =
        n === 0
          ? `nothing to roll back in schema ${schema} (${url})\n`
          : renderTable(
              ['ID', 'STATUS', 'TX', 'DURATION'],
              report.results.map((r) => [r.id, r.status, r.inTransaction ? 'yes' : 'no', formatMs(r.durationMs)]),
            ) + `\nrolled back ${n} migration${n > 1 ? 's' : ''} in schema ${schema} (${url})\n`;
      return {
        doc: { schema, results: report.results, lockWaitMs: Math.round(report.lockWaitMs), durationMs: Math.round(report.durationMs) },
        human,
        exitCode: ExitCode.Ok,
      };
    }),
  );
}
