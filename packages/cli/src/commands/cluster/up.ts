import { Command } from 'commander';
import {
  ClusterError,
  parseMemory,
  parseScrapeTargets,
  SettingsRejectedError,
  parseOverrides,
  type ClusterOptions,
  type PoolerReset,
} from '@stellaops/cluster';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { moduleRequiredRoles } from '../../modules/module-registry.js';
import { UsageError } from '../../usage-error.js';
import { codegenTargets } from '../codegen/index.js';
import { localPaths } from '../local/paths.js';
import { parseNonNegativeInt, runCommand } from '../../command/run-command.js';
import { prepareClusterRoot, clusterRoot } from './location.js';
import { DIR_HELP, openCluster } from './open-cluster.js';
import { asUsageError, collect, parsePoolerReset, POOLER_RESET_HELP } from './options.js';
import { renderClusterStatus } from './status-render.js';

interface UpOptions {
  dir?: string;
  memory?: string;
  set: string[];
  port?: number;
  pgbouncerPort?: number;
  pgbouncerBin?: string;
  opensslBin?: string;
  /** commander: `--monitoring` → true, `--no-monitoring` → false, neither → undefined. */
  monitoring?: boolean;
  scrape: string[];
  poolerReset?: PoolerReset;
  json?: boolean;
}

/** `stella-db cluster up`: TLS material, PostgreSQL 16, roles, PgBouncer; idempotent, recovers after a crash. */
export function clusterUpCommand(ctx: CliContext): Command {
  return new Command('up')
    .description('start the production-shaped cluster (PostgreSQL 16 + PgBouncer, TLS everywhere), or find it running')
    .option('--dir <folder>', DIR_HELP)
    .option('--memory <size>', "RAM to compute the settings for (e.g. 4GiB); default: the saved value, else this host's")
    .option('--set <name=value>', 'override a PostgreSQL setting (repeatable; replaces the saved overrides)', collect, [])
    .option('--port <port>', 'PostgreSQL port (default: the saved one, else a free one)', parseNonNegativeInt)
    .option('--pgbouncer-port <port>', 'PgBouncer port (default: the saved one, else a free one)', parseNonNegativeInt)
    .option('--pgbouncer-bin <path>', "pgbouncer program (default: /usr/sbin/pgbouncer from Debian's pgbouncer)")
    .option('--openssl-bin <path>', 'openssl program (default: openssl on PATH)')
    .option(
      '--monitoring',
      'require the monitoring stack (exporters + Prometheus); fails first with the apt-get command when a package is missing',
    )
    .option('--no-monitoring', 'do not start the monitoring stack (stops a running one); saved for later runs')
    .option(
      '--scrape <name=host:port>',
      'an extra target Prometheus scrapes, e.g. stellaops-notify-worker=127.0.0.1:9464 (repeatable; replaces the saved ones; "none" clears them)',
      collect,
      [],
    )
    .option('--pooler-reset <mode>', `${POOLER_RESET_HELP}; saved for later runs`, parsePoolerReset)
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
Needs Debian's pgbouncer and openssl (apt-get install -y pgbouncer openssl); checked first.
Monitoring (postgres_exporter, PgBouncer exporter, Prometheus + dashboard) starts too when
Debian's prometheus, prometheus-postgres-exporter and prometheus-pgbouncer-exporter are
installed; --monitoring requires them, --no-monitoring skips it (both choices are saved).
PostgreSQL runs from the embedded binaries with its own data folder and port, beside
"stella-db up"'s dev server. A second up changes nothing; after a crash it restarts what
died (PostgreSQL recovers from its WAL). Passwords are generated once (secrets.json, 0600)
and never printed: "stella-db cluster env --show-secrets" prints them on request.

Exit codes: 0 ok, 1 failed, 2 usage error.`,
    )
    .action(async (opts: UpOptions) =>
      runCommand('cluster up', { json: opts.json === true }, ctx, async () => {
        for (const [flag, port] of [
          ['--port', opts.port],
          ['--pgbouncer-port', opts.pgbouncerPort],
        ] as const) {
          if (port !== undefined && (port < 1 || port > 65535))
            throw new UsageError(`${flag} ${port} is not a TCP port. Fix: give 1-65535.`);
        }
        const memoryBytes = opts.memory === undefined ? undefined : asUsageError(() => parseMemory(opts.memory!));
        const overrides = opts.set.length > 0 ? asUsageError(() => parseOverrides(opts.set)) : undefined;
        const scrape = opts.scrape.length > 0 ? asUsageError(() => parseScrapeTargets(opts.scrape)) : undefined;
        const monitoring = {
          ...(opts.monitoring === undefined ? {} : { mode: opts.monitoring ? ('on' as const) : ('off' as const) }),
          ...(scrape ? { scrape } : {}),
        };
        const root = localPaths(ctx.cwd).root;
        const targets = await codegenTargets(undefined, { ...ctx, cwd: root }, { allowNone: true });
        const moduleRoles = (await Promise.all(targets.map((t) => moduleRequiredRoles(t.name, root)))).flat();
        const extra: Partial<ClusterOptions> = {
          moduleRoles,
          monitoring,
          ...(memoryBytes !== undefined ? { memoryBytes } : {}),
          ...(overrides ? { overrides } : {}),
          ...(opts.poolerReset ? { poolerReset: opts.poolerReset } : {}),
          ports: { ...(opts.port ? { postgres: opts.port } : {}), ...(opts.pgbouncerPort ? { pgbouncer: opts.pgbouncerPort } : {}) },
          programs: {
            ...(opts.pgbouncerBin ? { pgbouncer: opts.pgbouncerBin } : {}),
            ...(opts.opensslBin ? { openssl: opts.opensslBin } : {}),
          },
        };
        const cluster = openCluster(opts, ctx, extra);
        let status;
        try {
          cluster.checkPrerequisites(); // before anything is created
          prepareClusterRoot(clusterRoot(ctx.cwd, opts.dir));
          status = await cluster.up();
        } catch (e) {
          if ((e instanceof ClusterError && e.code === 'CLUSTER_INVALID_INPUT') || e instanceof SettingsRejectedError)
            throw new UsageError(e.message, { cause: e });
          throw e;
        }
        return {
          doc: { ...status },
          human: `${renderClusterStatus(status)}\nconnect: stella-db cluster env (add --show-secrets for passwords); busiest statements: stella-db cluster top; stop: stella-db cluster down\n`,
          exitCode: status.healthy ? ExitCode.Ok : ExitCode.Failed,
        };
      }),
    );
}
