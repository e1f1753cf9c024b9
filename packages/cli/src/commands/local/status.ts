import { Command } from 'commander';
import { SchemaMigrator } from '@stellaops/migrator';
import { redactConnectionString } from '@stellaops/postgres-core';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { describeLocalEnvironment, savedTenantKey, TENANT_KEY_FILE } from '../../local/local-environment.js';
import { renderTable } from '../../output/table.js';
import { codegenTargets } from '../codegen/index.js';
import { runCommand } from '../../command/run-command.js';
import { localPaths, localServer } from './paths.js';
import { isUpToDate } from '../../codegen/run-codegen.js';

/** `stella-db status`: the local server and each module's migrations (read-only). */
export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description("show the local PostgreSQL and each module package's migration state (read-only)")
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { json?: boolean }) =>
      runCommand('status', { json: opts.json === true }, ctx, async () => {
        const { root, stateDir } = localPaths(ctx.cwd);
        const env = describeLocalEnvironment(stateDir, localServer(ctx.cwd, ctx.env));
        const s = env.status;
        let human = s.running
          ? `local PostgreSQL running: ${s.version}, pid ${s.pid}, port ${s.port}, data ${s.dataDir}\n`
          : `local PostgreSQL not running (data ${s.dataDir}); start it with "stella-db up"\n`;
        const rows: unknown[][] = [];
        if (s.running && env.ownerUrl) {
          for (const t of await codegenTargets(undefined, { ...ctx, cwd: root }, { allowNone: true })) {
            const report = await new SchemaMigrator({
              connectionString: env.ownerUrl,
              schema: t.migrations.schema,
              migrations: t.migrations.migrations,
              ...(t.migrations.table ? { table: t.migrations.table } : {}),
            }).status();
            const applied = report.migrations.filter((m) => m.appliedAt !== null);
            rows.push([
              t.name,
              applied.length,
              report.counts.pending,
              applied.at(-1)?.id ?? null,
              (await isUpToDate(t)) ? 'current' : 'stale',
            ]);
          }
          human += `\n${renderTable(['MODULE', 'APPLIED', 'PENDING', 'LAST MIGRATION', 'TYPES'], rows)}\napp role: ${redactConnectionString(env.appUrl ?? '')}\n`;
          const key = savedTenantKey(stateDir);
          if (key)
            human += `tenant key: id ${key.keyId} (.stellaops/${TENANT_KEY_FILE}); services: Postgres__TenantKey=$(stella-db url --tenant-key) Postgres__TenantKeyId=${key.keyId}\n`;
        }
        return { doc: { running: s.running, port: s.port, pid: s.pid, dataDir: s.dataDir, modules: rows }, human, exitCode: ExitCode.Ok };
      }),
    );
}
