import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { monitoringTargets } from '@stellaops/cluster';
import { collectTop, renderTop, type TopSnapshot } from '@stellaops/monitoring';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { UsageError } from '../../usage-error.js';
import { parseNonNegativeInt, runCommand } from '../../command/run-command.js';
import { DIR_HELP, openCluster } from './open-cluster.js';

interface TopOptions {
  dir?: string;
  watch?: boolean;
  interval: number;
  limit: number;
  count?: number;
  json?: boolean;
}

/**
 * `stella-db cluster top [--watch]`: the terminal view of the dashboard's
 * numbers (busiest statements, connections, PgBouncer pools and waits), read
 * as the least-privilege monitoring role and PgBouncer's stats user over TLS
 * verify-full — no Prometheus needed.
 */
export function clusterTopCommand(ctx: CliContext): Command {
  return new Command('top')
    .description('busiest statements, connections, PgBouncer pools and waits (as the monitoring role); --watch refreshes')
    .option('--dir <folder>', DIR_HELP)
    .option('--watch', 'redraw every --interval seconds until Ctrl-C (rates over the interval)')
    .option('--interval <seconds>', 'refresh interval with --watch', parseNonNegativeInt, 2)
    .option('--limit <n>', 'statements to show', parseNonNegativeInt, 10)
    .option('--count <n>', 'with --watch: stop after n frames', parseNonNegativeInt)
    .option('--json', 'print the snapshot as one JSON document on stdout')
    .addHelpText(
      'after',
      '\nNeeds the monitoring role: created by "stella-db cluster up" with monitoring on.\nExit codes: 0 ok, 1 failed, 2 usage error.',
    )
    .action(async (opts: TopOptions) =>
      runCommand('cluster top', { json: opts.json === true }, ctx, async () => {
        if (opts.interval < 1) throw new UsageError('--interval must be at least 1 second.');
        if (opts.limit < 1) throw new UsageError('--limit must be at least 1.');
        if (opts.watch && opts.json) throw new UsageError('--watch and --json cannot be combined. Fix: drop one.');
        const targets = monitoringTargets(await openCluster({ ...opts, json: true }, ctx).context());
        const take = () => collectTop({ ...targets, limit: opts.limit });
        const columns = (ctx.stdout as { columns?: unknown }).columns;
        const width = typeof columns === 'number' ? columns : 120;
        if (!opts.watch) {
          const snap = await take();
          return { doc: { snapshot: snap }, human: renderTop(snap, { width }), exitCode: ExitCode.Ok };
        }
        let stop = false;
        const onSignal = () => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        try {
          let previous: TopSnapshot | undefined;
          for (let frame = 0; !stop && (opts.count === undefined || frame < opts.count); frame++) {
            if (frame > 0) await sleep(opts.interval * 1000);
            const snap = await take();
            ctx.stdout.write(
              `${ctx.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderTop(snap, { ...(previous ? { previous } : {}), width })}\n`,
            );
            previous = snap;
          }
        } finally {
          process.removeListener('SIGINT', onSignal);
        }
        return { doc: {}, human: '', exitCode: ExitCode.Ok };
      }),
    );
}
