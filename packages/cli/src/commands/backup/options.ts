import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BackupUsageError, type SourceCluster } from '@stellaops/backup';
import { locateBinaries, serverRunAs, type PgBinaries, type RunAs } from '@stellaops/embedded-server';
import type { CliContext } from '../../context.js';
import { UsageError } from '../../usage-error.js';

/** Options shared by the backup commands (each also readable from the environment). */
export interface BackupCliOptions {
  repo?: string;
  archiveDir?: string;
  dataDir?: string;
  socket?: string;
  port?: number;
  user?: string;
  json?: boolean;
  progress?: boolean;
  /** Superuser password: never a flag; filled by `stella-db cluster` from its 0600 secrets. */
  password?: string;
}

/** Parses a TCP port. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number 1-65535');
  return n;
}

/** Adds --repo and --archive-dir. */
export function addRepoOptions(cmd: Command): Command {
  return cmd
    .option('--repo <dir>', 'backup repository folder (env STELLAOPS_BACKUP_REPO)')
    .option('--archive-dir <dir>', 'WAL archive folder, basic_archive.archive_directory (env STELLAOPS_WAL_ARCHIVE_DIR)')
    .option('--json', 'print one JSON document on stdout');
}

/** Adds the options that reach the running cluster. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', "the running cluster's data folder (env STELLAOPS_PGDATA)")
    .option('--socket <dir>', "folder of the running cluster's Unix socket (env STELLAOPS_PG_SOCKET)")
    .option('--port <port>', "the running cluster's port (env STELLAOPS_PG_PORT)", parsePort)
    .option('--user <name>', 'superuser to connect as over the socket', 'postgres');
}

function need(value: string | undefined, flag: string, env: string): string {
  if (!value) throw new UsageError(`${flag} is required (or set ${env}).`);
  return value;
}

/** The repository and archive folders. */
export function repoPaths(o: BackupCliOptions, ctx: CliContext): { repo: string; archiveDir: string } {
  return {
    repo: resolve(ctx.cwd, need(o.repo ?? ctx.env.STELLAOPS_BACKUP_REPO, '--repo', 'STELLAOPS_BACKUP_REPO')),
    archiveDir: resolve(ctx.cwd, need(o.archiveDir ?? ctx.env.STELLAOPS_WAL_ARCHIVE_DIR, '--archive-dir', 'STELLAOPS_WAL_ARCHIVE_DIR')),
  };
}

/** The running cluster to back up. */
export function sourceCluster(o: BackupCliOptions, ctx: CliContext): SourceCluster {
  const { archiveDir } = repoPaths(o, ctx);
  const port = o.port ?? (ctx.env.STELLAOPS_PG_PORT ? parsePort(ctx.env.STELLAOPS_PG_PORT) : undefined);
  return {
    connection: {
      host: need(o.socket ?? ctx.env.STELLAOPS_PG_SOCKET, '--socket', 'STELLAOPS_PG_SOCKET'),
      ...(port ? { port } : {}),
      user: o.user ?? 'postgres',
      database: 'postgres',
      ...(o.password ? { password: o.password } : {}),
    },
    dataDir: resolve(ctx.cwd, need(o.dataDir ?? ctx.env.STELLAOPS_PGDATA, '--data-dir', 'STELLAOPS_PGDATA')),
    archiveDir,
  };
}

/** The server binaries and the OS user they run as (postgres when root). */
export function serverBinaries(): { binaries: PgBinaries; runAs: RunAs | undefined } {
  const runAs = serverRunAs();
  return { binaries: locateBinaries(runAs, '/var/tmp/stellaops-backup-bin'), runAs };
}

/** Runs `fn`, turning the backup package's usage errors into the CLI's (exit code 2). */
export async function asUsage<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BackupUsageError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

/** A progress printer on stderr that writes at most once a second (and always the last line). */
export function throttled(ctx: CliContext, enabled: boolean): (line: string, force?: boolean) => void {
  let last = 0;
  return (line, force = false) => {
    if (!enabled) return;
    const now = Date.now();
    if (force || now - last >= 1000) {
      ctx.stderr.write(`${line}\n`);
      last = now;
    }
  };
}
