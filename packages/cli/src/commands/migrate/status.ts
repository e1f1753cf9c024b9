import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { formatMs, runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, type CommonOptions } from './shared.js';

interface StatusOptions extends CommonOptions {
  failOnPending?: boolean;
}

/** `stella-db migrate status`: every migration's state (read-only). */
export function statusCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('status')
      .description('show every migration: applied, pending, drifted, out-of-order, missing (read-only)')
      .option('--fail-on-pending', 'exit 3 when anything is pending, drifted or missing'),
  ).action(async (opts: StatusOptions) =>
    runCommand('migrate status', opts, ctx, async () => {
      const { migrator, target, schema } = await createMigrator(opts, ctx);
      const report = await migrator.status();
      const c = report.counts;
      const attention = c.pending + c['out-of-order'] + c.drifted + c.missing;
      const exitCode = opts.failOnPending && attention > 0 ? ExitCode.PendingOrDrift : ExitCode.Ok;
      const human =
        renderTable(
          ['ID', 'STATE', 'APPLIED AT', 'DURATION', 'TX', 'DESCRIPTION'],
          report.migrations.map((m) => [
            m.id,
            m.state,
            m.appliedAt,
            formatMs(m.durationMs),
            m.transaction === null ? '-' : m.transaction ? 'yes' : 'no',
            m.description,
          ]),
        ) +
        `\nschema ${schema} (${target}): ${
          Object.entries(c)
            .filter(([, n]) => n > 0)
            .map(([s, n]) => `${n} ${s}`)
            .join(', ') || 'no migrations'
        }${report.initialized ? '' : ' — tracking table not created yet'}\n`;
      return {
        doc: { schema, table: report.table, initialized: report.initialized, counts: c, migrations: report.migrations },
        human,
        exitCode,
      };
    }),
  );
}
