import { Command, Option } from 'commander';
import { totalmem } from 'node:os';
import {
  clusterLayout,
  computeSettings,
  formatMemory,
  parseMemory,
  parseOverrides,
  renderPostgresqlConf,
  SettingsRejectedError,
  validateSettingsWithServer,
  type ClusterSettings,
} from '@stellaops/cluster';
import { locateBinaries } from '@stellaops/embedded-server';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { UsageError } from '../../usage-error.js';
import { runCommand } from '../../command/run-command.js';
import { asUsageError, collect } from './options.js';
import { clusterRoot } from './location.js';

interface ConfigOptions {
  memory?: string;
  set: string[];
  format: 'postgresql.conf' | 'json';
  dir?: string;
}

/**
 * The settings for `--memory` (default: this host's RAM) and `--set`
 * overrides, checked by the real `postgres -C` before anything uses them.
 */
export async function resolveSettings(opts: { memory?: string; set?: string[]; dir?: string }, ctx: CliContext): Promise<ClusterSettings> {
  const settings = asUsageError(() =>
    computeSettings({
      memoryBytes: opts.memory === undefined ? totalmem() : parseMemory(opts.memory),
      overrides: parseOverrides(opts.set ?? []),
      layout: clusterLayout(clusterRoot(ctx.cwd, opts.dir)),
    }),
  );
  // root may run `postgres -C` (no server starts), so no copy of the binaries is needed here
  try {
    await validateSettingsWithServer(locateBinaries(undefined, '/nonexistent').postgres, settings.postgres);
  } catch (e) {
    if (e instanceof SettingsRejectedError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  return settings;
}

/** `stella-db cluster config`: the computed settings with a reason each. */
export function configCommand(ctx: CliContext): Command {
  return new Command('config')
    .description("print the cluster's computed PostgreSQL settings (one-line reason each) and PgBouncer limits")
    .option('--memory <size>', "RAM of the target machine (e.g. 64GiB); default: this host's")
    .option('--set <name=value>', 'override a setting (repeatable); PostgreSQL checks it', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['postgresql.conf', 'json']).default('postgresql.conf'))
    .option('--dir <folder>', 'cluster folder (paths in the settings); default: see "cluster up --help"')
    .action(async (opts: ConfigOptions) =>
      runCommand('cluster config', { json: opts.format === 'json' }, ctx, async () => {
        const s = await resolveSettings(opts, ctx);
        const header =
          `# stella-db cluster config: computed for ${formatMemory(s.memoryBytes)} RAM\n` +
          `# PgBouncer: max_client_conn=${s.pool.maxClientConn}, default_pool_size=${s.pool.defaultPoolSize}, max_db_connections=${s.pool.maxDbConnections} ` +
          `(+ ${s.pool.directHeadroom} direct + ${s.pool.superuserReserved} superuser-reserved = max_connections)\n`;
        return {
          doc: { memoryBytes: s.memoryBytes, memory: formatMemory(s.memoryBytes), settings: s.postgres, pgbouncer: s.pool },
          human: header + renderPostgresqlConf(s.postgres),
          exitCode: ExitCode.Ok,
        };
      }),
    );
}
