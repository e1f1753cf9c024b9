import { Command } from 'commander';
import { SchemaMigrator } from '@stellaops/migrator';
import { redactConnectionString, TenantKeyConflictError } from '@stellaops/postgres-core';
import { applyTenantProof, appRoleCheckLine } from '../../security/tenant-proof.js';
import { isUpToDate, runCodegen, type CodegenTarget } from '../../codegen/run-codegen.js';
import { CONNECTION_ENV, resolveConnection } from '../../config/resolve-connection.js';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { loadPersistence, selectModules } from '../../local/module-selection.js';
import { APP_ROLE, hardenLocalAppRoles, prepareLocalEnvironment, TENANT_KEY_FILE } from '../../local/local-environment.js';
import { UsageError } from '../../usage-error.js';
import { renderTable } from '../../output/table.js';
import { moduleRequiredRoles } from '../../modules/module-registry.js';
import { runCommand } from '../../command/run-command.js';
import { codegenTargets } from '../codegen/index.js';
import { localPaths, localServer } from './paths.js';

interface UpOptions {
  all?: boolean;
  codegen?: boolean;
  json?: boolean;
}

/** One row of the status table. */
export interface ModuleRow {
  module: string;
  backend: string;
  applied: number | null;
  pending: number | null;
  last: string | null;
  types: string;
}

/** `stella-db up`: local PostgreSQL, roles, migrations of the Postgres-backed modules, fresh types. */
export function upCommand(ctx: CliContext): Command {
  return new Command('up')
    .description(
      'start the local PostgreSQL 16 (or use Postgres__ConnectionString), create roles, migrate the Postgres-backed modules, regenerate types',
    )
    .option('--all', 'migrate every module package, whatever PersistenceOptions say')
    .option('--no-codegen', "do not regenerate the modules' DB types")
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
Modules come from PersistenceOptions (appsettings.json, appsettings.{Environment}.json,
Persistence__<Module>=Postgres) in the working directory, or all with --all.
The local server keeps its data in <workspace>/.stellaops (git-ignored) and keeps
running after this command exits: "stella-db down" stops it. Run as root, the
server runs as OS user postgres; when that user cannot reach the checkout (a
private folder such as /root), its data lives in /var/lib/stellaops/<checkout id>
(or $STELLAOPS_SERVER_DIR), recorded in .stellaops/local.location.json.
Roles: stellaops_owner runs migrations and owns the objects; stellaops_app is
what services use (no ownership, no BYPASSRLS). "stella-db url --role app"
prints the app role's full connection string.

Exit codes: 0 ok, 1 failed, 2 usage error.`,
    )
    .action(async (opts: UpOptions) =>
      runCommand('up', { json: opts.json === true }, ctx, async () => {
        const paths = localPaths(ctx.cwd);
        // Npgsql keyword strings or URLs, normalized (a usage error names what is wrong)
        const externalUrl = ctx.env[CONNECTION_ENV]?.trim() ? await resolveConnection({}, ctx.env, ctx.cwd) : undefined;
        const targets = await codegenTargets(undefined, { ...ctx, cwd: paths.root }, { allowNone: true });
        // PersistenceOptions need a Postgres connection string once a module is on Postgres; the local one serves until it exists
        const persistence = loadPersistence(ctx.cwd, ctx.env, externalUrl ?? 'postgres://local-server/stellaops');
        const modules = selectModules(
          persistence,
          targets.map((t) => t.name),
          opts.all === true,
        );
        const migrating = modules.filter((m) => m.backend === 'Postgres' && m.packageName !== undefined);
        const moduleRoles = (await Promise.all(migrating.map((m) => moduleRequiredRoles(m.packageName!, paths.root)))).flat();
        const env = await prepareLocalEnvironment({
          stateDir: paths.stateDir,
          server: () => localServer(ctx.cwd, ctx.env),
          ...(externalUrl ? { externalUrl } : {}),
          moduleRoles,
        });

        // Tenant proof first: postgres-core's security migrations (current_tenant(), the row tag functions, the owner-only
        // key table) as the owner, then the local tenant key (generated once into .stellaops/tenant-key.json, never
        // rotated by a rerun) — before any module migration, whose tag backfill and fill triggers need an installed key.
        try {
          await applyTenantProof({ ownerUrl: env.ownerUrl, key: env.tenantKey, applicationName: 'stella-db up' });
        } catch (e) {
          if (!(e instanceof TenantKeyConflictError)) throw e;
          throw new UsageError(`${(e as Error).message} (local key file: .stellaops/${TENANT_KEY_FILE})`);
        }

        const rows: ModuleRow[] = [];
        const regenerate: CodegenTarget[] = [];
        for (const m of modules) {
          const target = targets.find((t) => t.name === m.packageName);
          if (m.backend !== 'Postgres' || !target) {
            rows.push({
              module: m.module,
              backend: m.backend,
              applied: null,
              pending: null,
              last: null,
              types: target ? '-' : 'no package yet',
            });
            continue;
          }
          const migrator = new SchemaMigrator({
            connectionString: env.ownerUrl,
            schema: target.migrations.schema,
            migrations: target.migrations.migrations,
            ...(target.migrations.table ? { table: target.migrations.table } : {}),
            applicationName: 'stella-db up',
          });
          await migrator.up();
          const status = await migrator.status();
          const applied = status.migrations.filter((s) => s.appliedAt !== null);
          const fresh = opts.codegen === false || (await isUpToDate(target));
          if (!fresh) regenerate.push(target);
          rows.push({
            module: m.module,
            backend: 'Postgres',
            applied: applied.length,
            pending: status.counts.pending,
            last: applied.at(-1)?.id ?? null,
            types: opts.codegen === false ? 'skipped' : fresh ? 'current' : 'regenerated',
          });
        }
        if (regenerate.length > 0) await runCodegen(regenerate, { check: false, cwd: ctx.cwd });
        // Least privilege, as the superuser, after the migrations (they create the roles' grants): then verify every role.
        const roleProblems = await hardenLocalAppRoles(env.adminUrl, [...new Set([APP_ROLE, ...moduleRoles])]);
        const failing = Object.entries(roleProblems).filter(([, p]) => p.length > 0);
        const checkLine = appRoleCheckLine(roleProblems);

        const server = env.embedded
          ? `local PostgreSQL (${env.embedded.version}, ${env.embedded.action}, port ${env.embedded.port}, data ${env.embedded.dataDir})`
          : `external server from ${CONNECTION_ENV}`;
        const human =
          `${server}\n\n` +
          renderTable(
            ['MODULE', 'BACKEND', 'APPLIED', 'PENDING', 'LAST MIGRATION', 'TYPES'],
            rows.map((r) => [r.module, r.backend, r.applied, r.pending, r.last, r.types]),
          ) +
          `\n${checkLine}\n` +
          `app role connection string: ${redactConnectionString(env.appUrl)}\n` +
          `  (full URL with password: stella-db url --role app; stop the server: stella-db down)\n` +
          `tenant key: id ${env.tenantKey.keyId}, in .stellaops/${TENANT_KEY_FILE} (0600); a service gets it with\n` +
          `  export Postgres__TenantKey=$(stella-db url --tenant-key) Postgres__TenantKeyId=${env.tenantKey.keyId}\n`;
        return {
          doc: {
            server: env.server,
            embedded: env.embedded ? { ...env.embedded, superuserUrl: undefined } : undefined,
            modules: rows,
            appUrl: redactConnectionString(env.appUrl),
            tenantKeyId: env.tenantKey.keyId,
            roleCheck: roleProblems,
          },
          human,
          exitCode: failing.length === 0 ? ExitCode.Ok : ExitCode.Failed,
        };
      }),
    );
}
