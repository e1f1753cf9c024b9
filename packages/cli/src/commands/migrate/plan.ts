import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { downTarget } from './down.js';
import { parseNonNegativeInt, runCommand } from '../../command/run-command.js';
import { addCommonOptions, createMigrator, resolveMigrationSet, type CommonOptions } from './shared.js';
import { lintSelectedSet } from '../lint/index.js';
import { renderFinding } from '../lint/render.js';

interface PlanOptions extends CommonOptions {
  to?: string;
  allowOutOfOrder?: boolean;
  ignoreMissing?: boolean;
  down?: boolean;
  steps?: number;
  all?: boolean;
}

/** `stella-db migrate plan`: the SQL `up` (or `down`) would run, without running it. */
export function planCommand(ctx: CliContext): Command {
  return addCommonOptions(
    new Command('plan')
      .description(
        'print the SQL each pending migration will run, without changing anything (TypeScript migrations: the SQL a dry run compiles; marked partial when it cannot all be captured)',
      )
      .option('--to <id>', 'plan up to this migration (with --down: roll back after it)')
      .option('--allow-out-of-order', 'include pending migrations older than the newest applied one')
      .option('--ignore-missing', 'tolerate applied migrations missing from the source')
      .option('--down', 'plan a rollback instead (with --to, --steps or --all)')
      .option('--steps <n>', 'with --down: the last n migrations', parseNonNegativeInt)
      .option('--all', 'with --down: every applied migration'),
  ).action(async (opts: PlanOptions) =>
    runCommand('migrate plan', opts, ctx, async () => {
      const down = opts.down ? downTarget(opts) : undefined;
      const { migrator, target, schema } = await createMigrator(opts, ctx);
      const plan = down
        ? await migrator.plan({ direction: 'down', ...down })
        : await migrator.plan({ to: opts.to, allowOutOfOrder: opts.allowOutOfOrder, ignoreMissing: opts.ignoreMissing });
      const pending = new Set(plan.migrations.map((m) => m.id));
      const lint =
        down || pending.size === 0
          ? []
          : (await lintSelectedSet(opts, await resolveMigrationSet(opts, ctx), ctx)).filter(
              (f) => pending.has(f.migration) && f.waived === undefined,
            );
      const lines: string[] = [];
      if (plan.migrations.length === 0) lines.push(`-- nothing to ${down ? 'roll back' : 'apply'} in schema ${schema} (${target})`);
      else
        lines.push(
          `-- plan: ${plan.migrations.length} migration(s) ${down ? 'to roll back' : 'to apply'} in schema ${schema} (${target}); dry run, nothing changed`,
        );
      for (const m of plan.migrations) {
        lines.push('', `-- ${m.id}: ${m.description} [${m.transaction ? 'in a transaction' : 'NO transaction'}]`);
        if (m.capture === 'partial')
          lines.push(`-- WARNING: partial capture, ${m.note ?? 'the dry run could not capture every statement'}`);
        lines.push(m.sql.trim() === '' ? '-- (no SQL captured)' : m.sql.trimEnd());
      }
      if (lint.length > 0) {
        lines.push(
          '',
          `-- stella-db lint: ${lint.length} finding(s) in the pending migrations (docs/RULES.md; waive with -- stella:allow <rule> <reason>)`,
        );
        for (const f of lint) lines.push(`-- ${renderFinding(opts.module ?? opts.dir ?? schema, f)}`);
      }
      return {
        doc: { schema, direction: plan.direction, migrations: plan.migrations, lint },
        human: `${lines.join('\n')}\n`,
        exitCode: ExitCode.Ok,
      };
    }),
  );
}
