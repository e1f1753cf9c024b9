import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SchemaMigrator, type MigrationSet, type SchemaMigratorOptions } from '@stellaops/migrator';
import { redactConnectionString } from '@stellaops/postgres-core';
import { resolveConnection } from '../../config/resolve-connection.js';
import type { CliContext } from '../../context.js';
import { parseNonNegativeInt } from '../../command/run-command.js';
import { importMigrationModule } from '../../loaders/module-importer.js';
import { resolveModule } from '../../modules/module-registry.js';
import { progressPrinter } from '../../output/progress.js';
import { UsageError } from '../../usage-error.js';

/** Options every `migrate` subcommand takes. */
export interface CommonOptions {
  /** `--url`: connection string (URL or Npgsql keywords). */
  url?: string;
  /** `--config`: appsettings-shaped JSON file with `Postgres.ConnectionString`. */
  config?: string;
  /** `--module`: module short name or package name. */
  module?: string;
  /** `--dir`: folder of migrations. */
  dir?: string;
  /** `--schema`: schema of the `--dir` migrations (or override of a module's). */
  schema?: string;
  /** `--table`: tracking table name (no commander default: a module's own `table` applies when it is not given). */
  table?: string;
  /** `--json`: one JSON document on stdout. */
  json?: boolean;
  /** `--no-progress` sets it to false. */
  progress?: boolean;
  /** `--lock-wait`: bound on waiting for the migration lock, ms. */
  lockWait?: number;
  /** `--lock-timeout`: statement `lock_timeout`, ms. */
  lockTimeout?: number;
  /** `--allow-pooler`: accept a (session-pooling) proxy. */
  allowPooler?: boolean;
}

/** Adds the connection, source and output options shared by all `migrate` subcommands. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--url <connection-string>',
      'PostgreSQL connection string (postgres:// URL or Npgsql Host=…;Database=…), a direct connection, not PgBouncer',
    )
    .option(
      '--config <file>',
      'JSON configuration (appsettings shape) with Postgres.ConnectionString; default: env Postgres__ConnectionString',
    )
    .option('--module <name>', 'migrations of a module package (@stellaops/module-<name>, or a package name)')
    .option('--dir <folder>', 'folder of migrations (*.sql, *.down.sql, *.ts, *.js); needs --schema')
    .option('--schema <name>', 'schema of the --dir migrations (tracking table <schema>._migrations)')
    .option('--table <name>', "tracking table name (default: the module's MigrationSet table, else _migrations)")
    .option('--lock-wait <ms>', 'give up waiting for the migration lock after this many ms', parseNonNegativeInt, 60_000)
    .option('--lock-timeout <ms>', 'lock_timeout for migration statements, in ms (0 = none)', parseNonNegativeInt, 5_000)
    .option(
      '--allow-pooler',
      'run through a connection pooler anyway (only PgBouncer pool_mode=session; transaction pooling can leave the lock held)',
    )
    .option('--json', 'print one JSON document on stdout')
    .option('--no-progress', 'no progress lines on stderr');
}

/** The migration set selected by --module or --dir/--schema. */
export async function resolveMigrationSet(opts: CommonOptions, ctx: CliContext): Promise<MigrationSet> {
  if (opts.module !== undefined && opts.dir !== undefined) throw new UsageError('give either --module or --dir, not both');
  if (opts.module !== undefined) {
    const set = await resolveModule(opts.module, ctx.cwd);
    return opts.schema !== undefined ? { ...set, schema: opts.schema } : set;
  }
  if (opts.dir !== undefined) {
    if (opts.schema === undefined) throw new UsageError('--dir needs --schema <name>');
    const directory = resolve(ctx.cwd, opts.dir);
    if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new UsageError(`--dir ${opts.dir} is not a folder`);
    return { schema: opts.schema, migrations: { directory, importModule: importMigrationModule } };
  }
  throw new UsageError('choose the migrations: --module <name>, or --dir <folder> --schema <name>');
}

/** A migrator for the selected set and connection, plus the redacted target for display. */
export async function createMigrator(
  opts: CommonOptions,
  ctx: CliContext,
  extra: Partial<SchemaMigratorOptions> = {},
): Promise<{ migrator: SchemaMigrator; target: string; schema: string }> {
  const url = await resolveConnection(opts, ctx.env, ctx.cwd);
  const set = await resolveMigrationSet(opts, ctx);
  const migrator = new SchemaMigrator({
    connectionString: url,
    schema: set.schema,
    migrations: set.migrations,
    table: opts.table ?? set.table ?? '_migrations',
    lockWaitMs: opts.lockWait ?? 60_000,
    lockTimeoutMs: opts.lockTimeout ?? 5_000,
    applicationName: 'stella-db migrate',
    allowPooler: opts.allowPooler === true,
    ...(opts.progress !== false && !opts.json ? { onEvent: progressPrinter(ctx.stderr) } : {}),
    ...extra,
  });
  return { migrator, target: redactConnectionString(url), schema: set.schema };
}
