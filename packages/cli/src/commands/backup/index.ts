import { Command } from 'commander';
import { applyRetention, archiveStatus, BackupRepository, listBackups, restoreBackup, takeBackup, verifyBackup } from '@stellaops/backup';
import type { CliContext } from '../../context.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../output/table.js';
import { parsePositiveInt, runCommand } from '../../command/run-command.js';
import {
  addRepoOptions,
  addSourceOptions,
  asUsage,
  parsePort,
  repoPaths,
  serverBinaries,
  sourceCluster,
  throttled,
  type BackupCliOptions,
} from './options.js';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * `create`: an online base backup of the running cluster (`stella-db cluster backup`).
 * `afterSuccess` runs once the backup (and retention) succeeded; its line is
 * added to the output (`stella-db cluster backup` records it for monitoring).
 */
export function backupCreateCommand(
  ctx: CliContext,
  name = 'create',
  parent = 'backup',
  afterSuccess?: (o: BackupCliOptions) => Promise<{ line: string; doc: Record<string, unknown> }>,
): Command {
  return addSourceOptions(addRepoOptions(new Command(name)))
    .description('take an online base backup of the running cluster into the repository (writes continue)')
    .option('--label <text>', 'label kept in the manifest and the backup id')
    .option('--compression-level <n>', 'gzip level 1-9', parsePositiveInt, 1)
    .option('--keep <n>', 'afterwards keep only the newest n backups (and the WAL they need)', parsePositiveInt)
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (o: BackupCliOptions & { label?: string; compressionLevel: number; keep?: number }) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(async () => {
          const { repo } = repoPaths(o, ctx);
          const say = throttled(ctx, o.progress !== false && !o.json);
          const m = await takeBackup({
            source: sourceCluster(o, ctx),
            repository: repo,
            ...(o.label ? { label: o.label } : {}),
            compressionLevel: o.compressionLevel,
            onProgress: (p) =>
              say(
                p.phase === 'copy'
                  ? `copy ${mib(p.bytesDone)} / ${mib(p.bytesTotal)} (${Math.floor((100 * p.bytesDone) / Math.max(1, p.bytesTotal))}%)`
                  : p.message,
                p.phase !== 'copy',
              ),
          });
          const retention = o.keep
            ? applyRetention({ repository: repo, archiveDir: repoPaths(o, ctx).archiveDir, keep: o.keep })
            : undefined;
          const human =
            `backup ${m.id}: ${mib(m.dataBytes)} → ${mib(m.archiveBytes)} in ${(m.durationMs / 1000).toFixed(1)} s, LSN ${m.startLsn} … ${m.stopLsn} (timeline ${m.timeline}), ${m.tables.length} tables counted\n` +
            (retention
              ? `retention: kept ${retention.keptBackups.length}, removed ${retention.removedBackups.length} backup(s) and ${retention.removedSegments} WAL segment(s)\n`
              : '');
          const { files: _files, ...summary } = m;
          const after = afterSuccess ? await afterSuccess(o) : undefined;
          return {
            doc: { backup: summary, retention, ...after?.doc },
            human: after ? `${human}${after.line}\n` : human,
            exitCode: ExitCode.Ok,
          };
        }),
      ),
    );
}

/** `list`: backups, WAL range, earliest/latest restorable points (`stella-db cluster backups`). */
export function backupListCommand(ctx: CliContext, name = 'list', parent = 'backup'): Command {
  return addRepoOptions(new Command(name))
    .description('list the backups, the archived WAL range and the earliest and latest points a restore can reach')
    .action(async (o: BackupCliOptions) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(() => {
          const { repo, archiveDir } = repoPaths(o, ctx);
          const c = listBackups(repo, archiveDir);
          const status = new BackupRepository(repo).status();
          const rows = c.backups.map((b) => [b.id, b.stopTime, b.stopLsn, mib(b.archiveBytes), b.restorable ? 'yes' : `NO: ${b.problem}`]);
          const human =
            `${renderTable(['BACKUP', 'ENDED', 'STOP LSN', 'SIZE', 'RESTORABLE'], rows)}\n` +
            `WAL archive: ${c.wal.segments} segments, ${c.wal.first ?? '-'} … ${c.wal.last ?? '-'}\n` +
            `earliest restorable point: ${c.earliest ? `${c.earliest.time} (end of ${c.earliest.backupId})` : 'none'}\n` +
            `latest restorable point:   ${c.latest ? `about ${c.latest.approxTime} (end of ${c.latest.walFile})` : 'none'}\n` +
            `last backup run: ${status.lastStatus}${status.lastFailure && status.lastStatus === 'failure' ? ` (${status.lastFailure.code}: ${status.lastFailure.message})` : ''}\n`;
          return { doc: { ...c, status }, human, exitCode: ExitCode.Ok };
        }),
      ),
    );
}

/** `restore`: point-in-time restore into a new folder, started as a separate server (`stella-db cluster restore`). */
export function backupRestoreCommand(ctx: CliContext, name = 'restore', parent = 'backup'): Command {
  return addRepoOptions(new Command(name))
    .description(
      'restore the newest backup before --to into a new folder, replay WAL to the target, promote, and start it as a separate server',
    )
    .requiredOption(
      '--to <target>',
      'latest | immediate | an ISO time with zone (2026-12-03T10:15:00Z) | an LSN (0/3000060) | a restore point name',
    )
    .requiredOption('--into <dir>', 'new data folder (must not exist or be empty; reachable by the OS user postgres)')
    .option('--port <port>', 'port of the restored server on 127.0.0.1 (default: a free one)', parsePort)
    .option('--backup <id>', 'restore from this backup instead of the newest suitable one')
    .option('--in-place', "restore over the cluster's own data folder (--into); the cluster must be stopped; the old folder is kept aside")
    .option('--yes', 'confirm --in-place')
    .option('--no-start', 'prepare the folder but do not start the server')
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (o: BackupCliOptions & { to: string; into: string; backup?: string; inPlace?: boolean; yes?: boolean; start: boolean }) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(async () => {
          const { repo, archiveDir } = repoPaths(o, ctx);
          const say = throttled(ctx, o.progress !== false && !o.json);
          const r = await restoreBackup({
            repository: repo,
            archiveDir,
            target: o.to,
            into: o.into,
            ...serverBinaries(),
            ...(o.port ? { port: o.port } : {}),
            ...(o.backup ? { backupId: o.backup } : {}),
            ...(o.inPlace ? { inPlace: { confirm: o.yes === true } } : {}),
            start: o.start,
            onProgress: (m) => say(m, true),
          });
          const human = r.running
            ? `restored ${r.backup.id} to ${o.to}: server running on 127.0.0.1:${r.port} (socket ${r.socketDir}), replayed to ${r.replayedToLsn}\n` +
              `inspect: psql -h ${r.socketDir} -p ${r.port} -U postgres\nstop:    kill -INT $(head -1 ${r.dataDir}/postmaster.pid)\n`
            : `prepared ${r.dataDir} from ${r.backup.id} for recovery to ${o.to}; start the server on it to replay and promote\n`;
          return {
            doc: {
              backupId: r.backup.id,
              dataDir: r.dataDir,
              port: r.port,
              socketDir: r.socketDir,
              running: r.running,
              replayedToLsn: r.replayedToLsn,
              extractMs: r.extractMs,
              replayMs: r.replayMs,
            },
            human,
            exitCode: ExitCode.Ok,
          };
        }),
      ),
    );
}

/** `verify`: the restore drill (`stella-db cluster verify-backup`). */
export function backupVerifyCommand(ctx: CliContext, name = 'verify', parent = 'backup'): Command {
  return addRepoOptions(new Command(name))
    .description('restore the newest backup into a scratch folder, start it, run amcheck, compare every table with the manifest, remove it')
    .option('--backup <id>', 'check this backup instead of the newest')
    .option('--scratch <dir>', 'parent of the scratch folder (reachable by the OS user postgres)', '/var/tmp')
    .option('--no-progress', 'no progress lines on stderr')
    .action(async (o: BackupCliOptions & { backup?: string; scratch: string }) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(async () => {
          const { repo, archiveDir } = repoPaths(o, ctx);
          const say = throttled(ctx, o.progress !== false && !o.json);
          const r = await verifyBackup({
            repository: repo,
            archiveDir,
            ...serverBinaries(),
            scratchRoot: o.scratch,
            ...(o.backup ? { backupId: o.backup } : {}),
            onProgress: (m) => say(m, true),
          });
          const human = r.ok
            ? `backup ${r.backupId} verified: restored and promoted in ${r.restoreSeconds.toFixed(1)} s, ${r.indexesChecked} indexes pass amcheck, ${r.tablesChecked} tables match the manifest\n`
            : `backup ${r.backupId} FAILED verification:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`;
          const warned = human + r.warnings.map((w) => `warning: ${w}\n`).join('');
          return { doc: { ...r }, human: warned, exitCode: r.ok ? ExitCode.Ok : ExitCode.Failed };
        }),
      ),
    );
}

/** `prune --keep N`: retention. */
export function backupPruneCommand(ctx: CliContext, name = 'prune', parent = 'backup'): Command {
  return addRepoOptions(new Command(name))
    .description('keep the newest N backups; remove older ones and the archived WAL no kept backup needs')
    .requiredOption('--keep <n>', 'backups to keep', parsePositiveInt)
    .option('--dry-run', 'only show what would be removed')
    .action(async (o: BackupCliOptions & { keep: number; dryRun?: boolean }) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(() => {
          const { repo, archiveDir } = repoPaths(o, ctx);
          const r = applyRetention({ repository: repo, archiveDir, keep: o.keep, dryRun: o.dryRun === true });
          const verb = o.dryRun ? 'would remove' : 'removed';
          return {
            doc: { ...r },
            human: `kept ${r.keptBackups.join(', ') || 'none'}; ${verb} ${r.removedBackups.length} backup(s) and ${r.removedSegments} WAL segment(s) before ${r.walKeptFrom ?? '-'}\n`,
            exitCode: ExitCode.Ok,
          };
        }),
      ),
    );
}

/** `status`: archiving health of the running cluster plus the last backup/verify outcome. */
export function backupStatusCommand(ctx: CliContext, name = 'status', parent = 'backup'): Command {
  return addSourceOptions(addRepoOptions(new Command(name)))
    .description('WAL archiving health of the running cluster and the last backup and verify outcome (exit 1 with warnings)')
    .action(async (o: BackupCliOptions) =>
      runCommand(`${parent} ${name}`, o, ctx, () =>
        asUsage(async () => {
          const src = sourceCluster(o, ctx);
          const { repo } = repoPaths(o, ctx);
          const a = await archiveStatus(src.connection, src.archiveDir, src.dataDir);
          const s = new BackupRepository(repo).status();
          const human =
            `archiving: ${a.ok ? 'ok' : 'FAILING'} (mode ${a.archiveMode}, library ${a.archiveLibrary || '-'}, archive_timeout ${a.archiveTimeoutSeconds} s = RPO), last archived ${a.lastArchivedWal ?? '-'} at ${a.lastArchivedTime ?? '-'}, ${a.pendingSegments ?? '?'} waiting\n` +
            a.warnings.map((w) => `warning: ${w}\n`).join('') +
            `last backup: ${s.lastSuccess ? `${s.lastSuccess.id} at ${s.lastSuccess.finishedAt}` : 'none'}; last run ${s.lastStatus}; failures ${s.failuresTotal}\n` +
            `last verify: ${s.lastVerify ? `${s.lastVerify.status} at ${s.lastVerify.at}` : 'never'}\n`;
          return { doc: { archiving: a, backups: s }, human, exitCode: a.ok ? ExitCode.Ok : ExitCode.Failed };
        }),
      ),
    );
}

/**
 * `stella-db backup …`: base backups, PITR restore, the restore drill and
 * retention over `@stellaops/backup`. The builders take a name so that
 * `stella-db cluster` can mount them as `backup`, `backups`, `restore`,
 * `verify-backup`.
 */
export function backupCommand(ctx: CliContext): Command {
  return new Command('backup')
    .description('online base backups, WAL archive catalog, point-in-time restore, restore drill, retention')
    .addCommand(backupCreateCommand(ctx))
    .addCommand(backupListCommand(ctx))
    .addCommand(backupRestoreCommand(ctx))
    .addCommand(backupVerifyCommand(ctx))
    .addCommand(backupPruneCommand(ctx))
    .addCommand(backupStatusCommand(ctx));
}
