import { Command } from 'commander';
import pg from 'pg';
import {
  listTenantKeyIds,
  PostgresCoreError,
  redactConnectionString,
  retagTenantRows,
  retireTenantKey,
  TENANT_KEY_ID_PATTERN,
  type RetagBatchProgress,
  type RetagProgress,
} from '@stellaops/postgres-core';
import { parseNonNegativeInt, parsePositiveInt, runCommand } from '../../command/run-command.js';
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

interface RetireOptions extends RetagOptions {
  waitTimeout?: number;
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

/** The options `retag` and `retire` share: batch size, lock wait and progress. */
function retagOptions(cmd: Command): Command {
  return cmd
    .option('--batch-pages <n>', 'pages (8 KiB) per batch transaction', parsePositiveInt, 1000)
    .option('--lock-timeout <ms>', 'how long a batch waits for its table lock before it backs off and tries again', parsePositiveInt, 2000)
    .option('--no-progress', 'no progress lines on stderr (none with --json either)');
}

/** The re-tag settings and progress printers of `opts` (progress on stderr unless `--json` or `--no-progress`). */
function retagRun(opts: RetagOptions, ctx: CliContext) {
  const show = opts.progress !== false && !opts.json;
  return {
    batchPages: opts.batchPages,
    lockTimeoutMs: opts.lockTimeout,
    onBatch: (b: RetagBatchProgress) => {
      if (show)
        ctx.stderr.write(
          `  ${b.table} ${b.phase === 'batch' ? 'batches' : 'sweep'}: ${b.pagesDone}/${b.pages} pages, ${b.rows} row(s) re-tagged\n`,
        );
    },
    onProgress: (p: RetagProgress) => {
      if (show) ctx.stderr.write(`[${p.done}/${p.total}] ${p.table}: ${p.rows} row(s) re-tagged\n`);
    },
  };
}

/** A key id from the command line, or a usage error naming the option. */
function keyIdArgument(option: string, value: string | undefined): string {
  const id = value ?? '';
  if (!TENANT_KEY_ID_PATTERN.test(id)) throw new UsageError(`${option} ${id}: a key id is 1-32 letters, digits, "_" or "-"`);
  return id;
}

/** `TENANT_KEY_NOT_INSTALLED` as a usage error (the operator named a key the database does not have). */
function notInstalledAsUsage(id: string, target: string, then: string): (e: unknown) => never {
  return (e: unknown) => {
    if (e instanceof PostgresCoreError && e.code === 'TENANT_KEY_NOT_INSTALLED')
      throw new UsageError(
        `tenant key "${id}" is not installed in ${target}: install it first (installTenantKey, as the owner), then ${then}`,
        {
          cause: e,
        },
      );
    throw e;
  };
}

/** The retire's refusals (nothing changed: a wrong key id or target) as usage errors; anything else as it is. */
function refusalAsUsage(e: unknown): never {
  if (
    e instanceof PostgresCoreError &&
    (e.code === 'TENANT_KEY_NOT_INSTALLED' ||
      e.code === 'TENANT_KEY_LAST' ||
      e.code === 'TENANT_KEY_NEWEST' ||
      e.code === 'INVALID_ARGUMENT')
  )
    throw new UsageError(e.message, { cause: e });
  throw e;
}

/** The per-table re-tag counts as a table, or a line when no table is tagged. */
function renderRetagged(tables: readonly RetagProgress[]): string {
  return tables.length === 0
    ? 'no tagged table found\n'
    : renderTable(
        ['TABLE', 'ROWS RE-TAGGED'],
        tables.map((t) => [t.table, String(t.rows)]),
      );
}

/** `stella-db tenant-key retag --to <id>`: key rotation step 2 (postgres-core's `retagTenantRows`). */
function retagCommand(ctx: CliContext): Command {
  return retagOptions(
    connectionOptions(
      new Command('retag')
        .description(
          'key rotation, step 2: re-tag every tenant row with the installed key <id>, online (batches of pages, each a short transaction that waits at most --lock-timeout for its table lock, then one sweep in a single transaction); run as the owner, after the services sign with <id> and keep the old key as Postgres__PreviousTenantKey',
        )
        .requiredOption('--to <key-id>', 'the key id the rows move to (installed already)'),
    ),
  ).action(async (opts: RetagOptions) =>
    runCommand('tenant-key retag', opts, ctx, async () => {
      const to = keyIdArgument('--to', opts.to);
      return withOwner(opts, ctx, async (client, target) => {
        const tables = await retagTenantRows(client, to, retagRun(opts, ctx)).catch(notInstalledAsUsage(to, target, 're-tag'));
        const rows = tables.reduce((n, t) => n + t.rows, 0);
        const human = `${renderRetagged(tables)}\n${rows} row(s) in ${tables.length} table(s) now tagged with key ${to} (${target})\n`;
        return { doc: { keyId: to, tables, rows }, human, exitCode: ExitCode.Ok };
      });
    }),
  );
}

/** `stella-db tenant-key retire <id>`: key rotation step 3 (postgres-core's `retireTenantKey`). */
function retireCommand(ctx: CliContext): Command {
  return retagOptions(
    connectionOptions(
      new Command('retire')
        .description(
          'key rotation, step 3: remove the key <id>, wait for the transactions of this database open at its removal, then re-tag the rows a service still signing with it wrote after step 2; refuses (changing nothing) to remove the last key, the newest key without --to, or a key that is not installed without --to. Run as the owner, after the services are deployed without Postgres__PreviousTenantKey',
        )
        .argument('<key-id>', 'the key to retire')
        .option(
          '--to <key-id>',
          'the key the rows move to (default: the newest installed key); needed to back out of a rotation (retire the newer key) or to finish a retire that stopped after removing the key',
        )
        .option(
          '--wait-timeout <ms>',
          'how long to wait for the transactions open at the removal (then it stops; run it again once they ended)',
          parseNonNegativeInt,
          60000,
        ),
    ),
  ).action(async (keyArg: string, opts: RetireOptions) =>
    runCommand('tenant-key retire', opts, ctx, async () => {
      const keyId = keyIdArgument('key', keyArg);
      const to = opts.to === undefined ? undefined : keyIdArgument('--to', opts.to);
      return withOwner(opts, ctx, async (client, target) => {
        const show = opts.progress !== false && !opts.json;
        const r = await retireTenantKey(client, keyId, {
          ...retagRun(opts, ctx),
          ...(to === undefined ? {} : { to }),
          waitTimeoutMs: opts.waitTimeout,
          onWait: (open) => {
            if (show) ctx.stderr.write(`waiting for ${open} transaction(s) open when key ${keyId} was removed\n`);
          },
        }).catch(refusalAsUsage);
        const rows = r.tables.reduce((n, t) => n + t.rows, 0);
        const human =
          `key ${keyId} ${r.removed ? 'removed' : 'was removed by an earlier run'}; waited for ${r.waitedFor} transaction(s) open at the removal\n` +
          `${renderRetagged(r.tables)}\n${rows} row(s) not yet on key ${r.to} moved to it; every tenant row now carries a tag of an installed key (${target})\n`;
        return { doc: { keyId, ...r, rows }, human, exitCode: ExitCode.Ok };
      });
    }),
  );
}

/**
 * `stella-db tenant-key …`: the tenant keys the database verifies proofs
 * with — `list` (ids only), `retag --to <id>` (key rotation step 2) and
 * `retire <id>` (step 3).
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
    .description('tenant keys: list the installed ids, re-tag tenant rows and retire the old key for a key rotation')
    .addCommand(listCommand(ctx))
    .addCommand(retagCommand(ctx))
    .addCommand(retireCommand(ctx));
}
