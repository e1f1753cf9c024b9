import { Command } from 'commander';
import { runCodegen, type CodegenTarget } from '../../codegen/run-codegen.js';
import { findWorkspaceRoot, workspaceModules } from '../../codegen/workspace-modules.js';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { resolveModule } from '../../modules/module-registry.js';
import { renderTable } from '../../output/table.js';
import { UsageError } from '../../usage-error.js';
import { runCommand } from '../../command/run-command.js';

interface CodegenOptions {
  module?: string[];
  check?: boolean;
  json?: boolean;
}

const HELP_FOOTER = `
For each module package (packages/modules/*, or those named by --module), builds
the module's schema in a throwaway database (the test fixture's templates: no
live database needed), runs kysely-codegen on the module's schema (without the
_migrations table) and writes src/generated/db.ts with Selectable/Insertable/
Updateable aliases per table (User, NewUser, UserUpdate).

Exit codes:
  0  ok (files written, or --check found them current)
  1  failed
  2  usage error
  3  --check: a committed file differs from what the migrations generate (diff printed)
`;

/** Module packages to generate for: `--module` names, or every module in the workspace. */
export async function codegenTargets(
  names: string[] | undefined,
  ctx: CliContext,
  options: { allowNone?: boolean } = {},
): Promise<CodegenTarget[]> {
  const root = findWorkspaceRoot(ctx.cwd);
  const modules = root ? workspaceModules(root) : [];
  const wanted = names && names.length > 0 ? names : modules.map((m) => m.name);
  if (wanted.length === 0 && !options.allowNone)
    throw new UsageError('no module packages found under packages/modules; name one with --module');
  const targets: CodegenTarget[] = [];
  for (const name of wanted) {
    const found = modules.find((m) => m.name === name || m.packageName === name);
    if (!found) throw new UsageError(`unknown module "${name}": known modules are ${modules.map((m) => m.name).join(', ') || '(none)'}`);
    targets.push({ name: found.name, dir: found.dir, migrations: await resolveModule(found.packageName, found.dir) });
  }
  return targets;
}

/** `stella-db codegen`: generated Kysely `DB` types per module, or `--check` them. */
export function codegenCommand(ctx: CliContext): Command {
  return new Command('codegen')
    .description("generate each module's Kysely DB types from its migrations (src/generated/db.ts)")
    .option('--module <name...>', 'only these modules (default: every module package in the workspace)')
    .option('--check', 'write nothing; exit 3 with a diff when a committed file is not what the migrations generate')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', HELP_FOOTER)
    .action(async (opts: CodegenOptions) =>
      runCommand('codegen', { json: opts.json === true }, ctx, async () => {
        const targets = await codegenTargets(opts.module, ctx);
        const results = await runCodegen(targets, { check: opts.check === true, cwd: ctx.cwd });
        const stale = results.filter((r) => r.state === 'stale' || r.state === 'missing');
        const exitCode = opts.check && stale.length > 0 ? ExitCode.PendingOrDrift : ExitCode.Ok;
        let human = renderTable(
          ['MODULE', 'FILE', 'STATE'],
          results.map((r) => [r.module, r.file, r.state]),
        );
        if (opts.check && stale.length > 0) {
          human += `\n${stale.map((r) => r.diff).join('\n')}\nGenerated types are out of date: run "pnpm codegen" and commit the result.\n`;
        }
        return { doc: { results }, human, exitCode };
      }),
    );
}
