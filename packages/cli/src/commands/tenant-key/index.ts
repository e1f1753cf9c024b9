import { Command } from 'commander';
import pg from 'pg';
import {
  listTenantKeyIds,
  PostgresCoreError,
  redactConnectionString,
  retagTenantRows,
  TENANT_KEY_ID_PATTERN,
} from '@stellaops/postgres-core';
import { parsePositiveInt, runCommand } from '../../command/run-command.js';
import { resolveConnection } from '../../config/resolve-connection.js';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { UsageError } from '../../usage-error.js';

interface KeyOptions {
  url?: string;
  config?: string;
  json?: boolean;
  progress?: boolean;
}

interface RetagOptions extends KeyOptions {
  to?: string;
  batchPages?: number;
  lockTimeout?: number;
}

function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <connection-string>', "the OWNER role's connection string (URL or Npgsql keywords), directly, not PgBouncer")
    .option(
      '--config <file>',
      'JSON configuration (appsettings shape) with Postgres.ConnectionString; default: env Postgres__ConnectionString',
    )
    .option('--json', 'print one JSON document on stdout');
}

async function withOwner<T>(opts: KeyOptions, ctx: CliContext, fn: (client: pg.Client, target: string) => Promise<T>): Promise<T> {
  const url = await resolveConnection(opts, ctx.env, ctx.cwd);
  const client = new pg.Client({ connectionString: url, application_name: 'stella-db tenant-key' });
  await client.connect();
  try {
    return await fn(client, redactConnectionString(url));
  } finally {
    await client.end();
  }
}

/** `stella-db tenant-key list`: the installed key ids, oldest first (never a secret). */
function listCommand(ctx: CliContext): Command {
  return connectionOptions(new Command('list').description('list the installed tenant key ids, oldest first (never a secret)')).action(
    async (opts: KeyOptions) =>
      runCommand('tenant-key list', opts, ctx, () =>
        withOwner(opts, ctx, async (client, target) => {
          const keyIds = await listTenantKeyIds(client);
          return {
            doc: { keyIds },
            human: `${keyIds.length === 0 ? 'no tenant key installed' : keyIds.join('\n')} (${target})\n`,
            exitCode: ExitCode.Ok,
          };
        }),
      ),
  );
}

/** `stella-db tenant-key retag --to <id>`: key rotation step 2 (postgres-core's `retagTenantRows`). */
function retagCommand(ctx: CliContext): Command {
  return connectionOptions(
    new Command('retag')
      .description(
        'key rotation, step 2: re-tag every tenant row with the installed key <id>, online (batches of pages, each a short transaction that waits at most --lock-timeout for its table lock, then one sweep in a single transaction); run as the owner, after the services sign with <id> and keep the old key as Postgres__PreviousTenantKey',
      )
      .requiredOption('--to <key-id>', 'the key id the rows move to (installed already)')
      .option('--batch-pages <n>', 'pages (8 KiB) per batch transaction', parsePositiveInt, 1000)
      .option(
        '--lock-timeout <ms>',
        'how long a batch waits for its table lock before it backs off and tries again',
        parsePositiveInt,
        2000,
      )
      .option('--no-progress', 'no progress lines on stderr (none with --json either)'),
  ).action(async (opts: RetagOptions) =>
    runCommand('tenant-key retag', opts, ctx, async () => {
      const to = opts.to ?? '';
      if (!TENANT_KEY_ID_PATTERN.test(to)) throw new UsageError(`--to ${to}: a key id is 1-32 letters, digits, "_" or "-"`);
      return withOwner(opts, ctx, async (client, target) => {
        const show = opts.progress !== false && !opts.json;
        const tables = await retagTenantRows(client, to, {
          batchPages: opts.batchPages,
          lockTimeoutMs: opts.lockTimeout,
          onBatch: (b) => {
            if (show)
              ctx.stderr.write(
                `  ${b.table} ${b.phase === 'batch' ? 'batches' : 'sweep'}: ${b.pagesDone}/${b.pages} pages, ${b.rows} row(s) re-tagged\n`,
              );
          },
          onProgress: (p) => {
            if (show) ctx.stderr.write(`[${p.done}/${p.total}] ${p.table}: ${p.rows} row(s) re-tagged\n`);
          },
        }).catch((e: unknown) => {
          if (e instanceof PostgresCoreError && e.code === 'TENANT_KEY_NOT_INSTALLED')
            throw new UsageError(`tenant key "${to}" is not installed in ${target}: install it first (installTenantKey, as the owner)`, {
              cause: e,
            });
          throw e;
        });
        const rows = tables.reduce((n, t) => n + t.rows, 0);
        const human =
          (tables.length === 0
            ? 'no tagged table found\n'
            : renderTable(
                ['TABLE', 'ROWS RE-TAGGED'],
                tables.map((t) => [t.table, String(t.rows)]),
              )) + `\n${rows} row(s) in ${tables.length} table(s) now tagged with key ${to} (${target})\n`;
        return { doc: { keyId: to, tables, rows }, human, exitCode: ExitCode.Ok };
      });
    }),
  );
}

/**
 * `stella-db tenant-key …`: the tenant keys the database verifies proofs
 * with — `list` (ids only) and `retag --to <id>` (key rotation step 2).
 * Installing a key stays with `stella-db up` / `cluster up` and
 * postgres-core's `installTenantKey`, so a secret never passes on a command line.
 *
 * @example
 * ```sh
 * stella-db tenant-key retag --to k2 --url "$OWNER_URL"
 * ```
 */
export function tenantKeyCommand(ctx: CliContext): Command {
  return new Command('tenant-key')
    .description('tenant keys: list the installed ids, re-tag tenant rows for a key rotation')
    .addCommand(listCommand(ctx))
    .addCommand(retagCommand(ctx));
}
