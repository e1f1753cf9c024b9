import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { MigrationSet } from '@stellaops/migrator';
import { findWorkspaceRoot, workspaceModules } from '../../codegen/workspace-modules.js';
import { runCommand } from '../../command/run-command.js';
import type { CliContext } from '../../context.js';
import { importMigrationModule } from '../../loaders/module-importer.js';
import { resolveModule } from '../../modules/module-registry.js';
import { UsageError } from '../../usage-error.js';
import {
  applyWaivers,
  LINT_RULES,
  lintableMigrations,
  lintLiveSchema,
  lintMigrations,
  readWaiverFile,
  type LintFinding,
} from '../../lint-rules/index.js';
import { renderFindings } from './render.js';

/** Exit code when an unwaived error is found (as `migrate verify` for drift). */
export const LINT_FAILED_EXIT = 3;

interface LintOptions {
  module?: string[];
  dir?: string;
  schema?: string;
  url?: string;
  appRole: string;
  json?: boolean;
  rules?: boolean;
}

/** One linted module's result. */
export interface ModuleLintResult {
  /** Module name or folder. */
  module: string;
  /** Its schema. */
  schema: string;
  /** Migrations linted. */
  migrations: number;
  /** Every finding, waived ones with their reason. */
  findings: LintFinding[];
}

const HELP_FOOTER = `
Lints migrations against docs/RULES.md: SQL text as written, and for TypeScript
migrations the SQL a dry run compiles (as "migrate plan" shows). With --url it
also checks the live schema (tenant keys, ENABLE + FORCE RLS, the standard
policy, what the app role owns and may do).

Waive an intended finding on the statement after the comment:
  -- stella:allow <rule> <reason>
A waiver needs a reason. Frozen migrations (their text is checksummed) are
waived in the module's lint-waivers.json:
  { "waivers": [{ "migration": "V002_X", "rule": "index-concurrently", "object": "x_tenant_a_idx", "reason": "…" }] }

Exit codes:
  0  no unwaived error (warnings are shown)
  1  failed (cannot load migrations, cannot connect)
  2  usage error
  3  unwaived errors found
`;

/** `stella-db lint`: the rules of docs/RULES.md over every module's migrations (and, with --url, the live schema). */
export function lintCommand(ctx: CliContext): Command {
  return new Command('lint')
    .description("check modules' migrations (and with --url the live schema) against docs/RULES.md; exit 3 on errors")
    .addHelpText('after', HELP_FOOTER)
    .option('--module <name...>', 'module(s) to lint (default: every module under packages/modules)')
    .option('--dir <folder>', 'lint a folder of migrations instead (needs --schema)')
    .option('--schema <name>', 'schema of the --dir migrations')
    .option('--url <connection-string>', 'also check the live schema in this database')
    .option('--app-role <name>', "the services' role", 'stellaops_app')
    .option('--rules', 'list the rules and exit')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: LintOptions) =>
      runCommand('lint', opts, ctx, async () => {
        if (opts.rules) {
          const rules = Object.values(LINT_RULES);
          return {
            doc: { rules },
            human: `${rules.map((r) => `${r.id.padEnd(28)} ${r.severity.padEnd(7)} ${r.summary}`).join('\n')}\n`,
            exitCode: 0,
          };
        }
        const results: ModuleLintResult[] = [];
        for (const target of await lintTargets(opts, ctx)) results.push(await lintTarget(target, opts));
        const errors = results.flatMap((r) => r.findings).filter((f) => f.severity === 'error' && f.waived === undefined).length;
        return { doc: { modules: results, errors }, human: renderFindings(results), exitCode: errors > 0 ? LINT_FAILED_EXIT : 0 };
      }),
    );
}

interface LintTarget {
  label: string;
  set: MigrationSet;
  waiverDir: string;
}

async function lintTargets(opts: LintOptions, ctx: CliContext): Promise<LintTarget[]> {
  if (opts.dir !== undefined) {
    if (opts.module) throw new UsageError('give either --module or --dir, not both');
    if (opts.schema === undefined) throw new UsageError('--dir needs --schema <name>');
    const directory = resolve(ctx.cwd, opts.dir);
    if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new UsageError(`--dir ${opts.dir} is not a folder`);
    return [
      {
        label: opts.dir,
        set: { schema: opts.schema, migrations: { directory, importModule: importMigrationModule } },
        waiverDir: directory,
      },
    ];
  }
  const root = findWorkspaceRoot(ctx.cwd);
  const modules = root ? workspaceModules(root) : [];
  const names = opts.module ?? modules.map((m) => m.name);
  if (names.length === 0)
    throw new UsageError('no module packages found under packages/modules; name one with --module or lint a folder with --dir');
  const out: LintTarget[] = [];
  for (const name of names) {
    const found = modules.find((m) => m.name === name || m.packageName === name);
    const set = await resolveModule(name, ctx.cwd);
    out.push({ label: found?.name ?? name, set: opts.schema ? { ...set, schema: opts.schema } : set, waiverDir: found?.dir ?? ctx.cwd });
  }
  return out;
}

/**
 * Lint findings for the migrations of a `migrate` command's set (`--module` or `--dir`),
 * with the module's waivers applied; `migrate plan` shows those of pending migrations.
 *
 * @example
 * const findings = await lintSelectedSet({ module: 'notify' }, set, ctx);
 */
export async function lintSelectedSet(opts: { module?: string; dir?: string }, set: MigrationSet, ctx: CliContext): Promise<LintFinding[]> {
  let waiverDir: string | undefined;
  if (opts.dir !== undefined) waiverDir = resolve(ctx.cwd, opts.dir);
  else if (opts.module !== undefined) {
    const root = findWorkspaceRoot(ctx.cwd);
    waiverDir = (root ? workspaceModules(root) : []).find((m) => m.name === opts.module || m.packageName === opts.module)?.dir;
  }
  const findings = lintMigrations({ schema: set.schema, migrations: await lintableMigrations(set.migrations) });
  return applyWaivers(findings, waiverDir ? readWaiverFile(waiverDir).filter((w) => w.migration !== 'schema') : []);
}

async function lintTarget(target: LintTarget, opts: LintOptions): Promise<ModuleLintResult> {
  const migrations = await lintableMigrations(target.set.migrations);
  const waivers = readWaiverFile(target.waiverDir);
  const fromMigrations = lintMigrations({ schema: target.set.schema, migrations, appRole: opts.appRole });
  const live = opts.url ? await lintLiveSchema({ connectionString: opts.url, schema: target.set.schema, appRole: opts.appRole }) : [];
  const findings = applyWaivers(
    [...fromMigrations, ...live],
    waivers.filter((w) => opts.url !== undefined || w.migration !== 'schema'),
  );
  return { module: target.label, schema: target.set.schema, migrations: migrations.length, findings };
}
