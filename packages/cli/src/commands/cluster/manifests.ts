import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import {
  computeSettings,
  parseMemory,
  parseOverrides,
  renderManifests,
  validateSettingsWithServer,
  type PoolerReset,
} from '@stellaops/cluster';
import { locateBinaries } from '@stellaops/embedded-server';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { moduleRequiredRoles } from '../../modules/module-registry.js';
import { codegenTargets } from '../codegen/index.js';
import { localPaths } from '../local/paths.js';
import { parseNonNegativeInt, runCommand } from '../../command/run-command.js';
import { asUsageError, collect, parsePoolerReset, POOLER_RESET_HELP } from './options.js';

/** Memory a staging instance is sized for unless `--memory` says otherwise (deterministic, unlike the host's). */
export const DEFAULT_MANIFEST_MEMORY = '16GiB';

interface ManifestsOptions {
  env: string;
  memory: string;
  set: string[];
  instances?: number;
  poolerReset?: PoolerReset;
  out?: string;
  check?: boolean;
  json?: boolean;
}

/** `stella-db cluster manifests`: CloudNativePG resources rendered from the same settings code. */
export function clusterManifestsCommand(ctx: CliContext): Command {
  return new Command('manifests')
    .description('render the CloudNativePG Cluster, Pooler and PodMonitors for an environment from the same settings')
    .requiredOption('--env <name>', 'environment (e.g. staging): namespace stellaops-<env>')
    .option('--memory <size>', 'RAM of each PostgreSQL instance', DEFAULT_MANIFEST_MEMORY)
    .option('--set <name=value>', 'override a PostgreSQL setting (repeatable)', collect, [])
    .option('--instances <n>', 'PostgreSQL instances (1 = single primary)', parseNonNegativeInt)
    .option('--pooler-reset <mode>', POOLER_RESET_HELP, parsePoolerReset)
    .option('--out <folder>', 'write the files there (e.g. deploy/staging) instead of printing them')
    .option('--check', 'with --out: exit 3 when the files there differ from what is rendered (CI)')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: ManifestsOptions) =>
      runCommand('cluster manifests', { json: opts.json === true }, ctx, async () => {
        const settings = asUsageError(() =>
          computeSettings({ memoryBytes: parseMemory(opts.memory), overrides: parseOverrides(opts.set) }),
        );
        await validateSettingsWithServer(locateBinaries(undefined, '/nonexistent').postgres, settings.postgres);
        const root = localPaths(ctx.cwd).root;
        const targets = await codegenTargets(undefined, { ...ctx, cwd: root }, { allowNone: true });
        const moduleRoles = (await Promise.all(targets.map((t) => moduleRequiredRoles(t.name, root)))).flat();
        const files = asUsageError(() =>
          renderManifests({
            env: opts.env,
            settings,
            moduleRoles,
            ...(opts.instances !== undefined ? { instances: opts.instances } : {}),
            ...(opts.poolerReset ? { poolerReset: opts.poolerReset } : {}),
          }),
        );
        if (!opts.out) {
          return {
            doc: { files: files.map((f) => ({ file: f.file, text: f.text })) },
            human: files.map((f) => f.text).join('---\n'),
            exitCode: ExitCode.Ok,
          };
        }
        const out = resolve(ctx.cwd, opts.out);
        if (opts.check) {
          const stale = files
            .filter((f) => !existsSync(join(out, f.file)) || readFileSync(join(out, f.file), 'utf8') !== f.text)
            .map((f) => f.file);
          return {
            doc: { out, stale },
            human:
              stale.length === 0
                ? `${relative(ctx.cwd, out) || '.'}: manifests up to date\n`
                : `${relative(ctx.cwd, out)}: differs from what is rendered: ${stale.join(', ')}\nFix: run the same command without --check and commit the files.\n`,
            exitCode: stale.length === 0 ? ExitCode.Ok : ExitCode.PendingOrDrift,
          };
        }
        mkdirSync(out, { recursive: true });
        for (const f of files) writeFileSync(join(out, f.file), f.text);
        return {
          doc: { out, files: files.map((f) => f.file) },
          human: files.map((f) => `wrote ${join(relative(ctx.cwd, out), f.file)}\n`).join(''),
          exitCode: ExitCode.Ok,
        };
      }),
    );
}
