import { Command } from 'commander';
import { runCommand } from '../../command/run-command.js';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { generateModule } from './generate-module.js';
import { MODULE_NAME_RULE, TABLE_NAME_RULE } from './module-name.js';

interface NewModuleOptions {
  table?: string;
  install?: boolean;
  json?: boolean;
}

const HELP_FOOTER = `
Creates packages/modules/<name> (package @stellaops/module-<name>, schema <name>):
package.json, tsconfig/eslint/vitest configs, a first frozen migration V001 with
one tenant table (tenant_id leading the primary key, ENABLE + FORCE row level
security with the standard tenant policy, app role grants) written as literal
SQL, migrations.lock.json pinning it, the module's roles, a typed repository,
tests (module-testkit's owner-migration and pin suites, the repository with
tenant isolation) and a README. Registers <Name> in PersistenceOptions
(postgres-core) when it is new; stella-db finds the package by itself. Then runs
"pnpm install --offline" and the module's codegen (skip both with --no-install).

Name rule: ${MODULE_NAME_RULE}; not an existing module, not a reserved word.
Table rule: ${TABLE_NAME_RULE}.
Next: docs/adding-a-module.md.

Exit codes: 0 ok, 1 failed (install or codegen; the files stay), 2 usage error (bad name).`;

/** `stella-db new module <name>`: a new module package, ready to work. */
export function newCommand(ctx: CliContext): Command {
  const moduleCommand = new Command('module')
    .description('create packages/modules/<name>: a module package with a first tenant table, RLS, roles, repository, tests and types')
    .argument('<name>', `the module's name and schema (${MODULE_NAME_RULE})`)
    .option('--table <name>', 'the first tenant table (default "items")')
    .option('--no-install', 'write the files only: no pnpm install, no codegen')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', HELP_FOOTER)
    .action(async (name: string, opts: NewModuleOptions) =>
      runCommand('new module', { json: opts.json === true }, ctx, async () => {
        const made = await generateModule({
          name,
          ...(opts.table !== undefined ? { table: opts.table } : {}),
          cwd: ctx.cwd,
          install: opts.install !== false,
          env: ctx.env,
          progress: (line) => ctx.stderr.write(`${line}\n`),
        });
        const human =
          `created packages/modules/${made.name} (${made.packageName}, schema ${made.name}): ${made.files.length} files\n` +
          `PersistenceOptions: ${made.persistence === 'registered' ? 'registered' : 'already listed'}\n` +
          (made.installed
            ? 'installed; generated src/generated/db.ts\n'
            : `not installed: run "pnpm install" then "pnpm --filter ${made.packageName} codegen"\n`) +
          `next: pnpm --filter ${made.packageName} test; pnpm exec stella-db up --all; docs/adding-a-module.md\n`;
        return {
          doc: {
            module: made.name,
            package: made.packageName,
            dir: made.dir,
            files: made.files,
            persistence: made.persistence,
            installed: made.installed,
          },
          human,
          exitCode: ExitCode.Ok,
        };
      }),
    );
  return new Command('new').description('create things from the project templates (new module <name>)').addCommand(moduleCommand);
}
