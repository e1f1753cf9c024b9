import { Command } from 'commander';
import { connectionInfo, monitoringUrls, type ConnectionForms } from '@stellaops/cluster';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { runCommand } from '../../command/run-command.js';
import { DIR_HELP, openCluster } from './open-cluster.js';

function block(f: ConnectionForms): string {
  return [`# ${f.purpose}`, `URL:    ${f.url}`, `Npgsql: ${f.npgsql}`, ...f.envLines].join('\n');
}

/** `stella-db cluster env`: how a service (app role via PgBouncer) and a migration job (owner direct) connect. */
export function clusterEnvCommand(ctx: CliContext): Command {
  return new Command('env')
    .description(
      'print how services (app role through PgBouncer) and migrations (owner direct) connect: URL, Npgsql string, Postgres__ lines; Prometheus and dashboard URLs',
    )
    .option('--dir <folder>', DIR_HELP)
    .option('--show-secrets', 'include the passwords (otherwise ***)')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      '\nBoth use sslmode=verify-full with the cluster\'s CA. Example: psql "$(stella-db cluster env --show-secrets --json | jq -r .app.url)"',
    )
    .action(async (opts: { dir?: string; json?: boolean; showSecrets?: boolean }) =>
      runCommand('cluster env', { json: opts.json === true }, ctx, async () => {
        const cctx = await openCluster(opts, ctx).context();
        const info = connectionInfo(cctx, { showSecrets: opts.showSecrets === true });
        const monitoring = monitoringUrls(cctx);
        const note = opts.showSecrets ? '' : '\n(passwords hidden: add --show-secrets)\n';
        const mon = monitoring.prometheusUrl
          ? `\n# monitoring${monitoring.running ? '' : ' (not running: stella-db cluster up)'}\nPROMETHEUS_URL=${monitoring.prometheusUrl}\nDASHBOARD_URL=${monitoring.dashboardUrl}\n`
          : '\n# monitoring: not set up (stella-db cluster up --monitoring)\n';
        return { doc: { ...info, monitoring }, human: `${block(info.app)}\n\n${block(info.owner)}\n${mon}${note}`, exitCode: ExitCode.Ok };
      }),
    );
}
