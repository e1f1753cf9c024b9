import type { Command } from 'commander';
import { adminClient, DATABASE } from '@stellaops/cluster';
import type { CliContext } from '../../context.js';
import { backupCreateCommand, backupListCommand, backupRestoreCommand, backupVerifyCommand } from '../backup/index.js';
import { DIR_HELP, openCluster } from './open-cluster.js';

/**
 * Points a `stella-db backup …` command at this checkout's cluster: before it
 * runs, every option the user left out (repository, WAL archive, data folder,
 * socket, port, superuser password) is filled from the cluster's layout, state
 * and 0600 secrets, so `stella-db cluster backup` needs no flags.
 */
function forCluster(cmd: Command, ctx: CliContext): Command {
  return cmd.option('--dir <dir>', DIR_HELP).hook('preAction', async (_self, action) => {
    const o = action.opts<{ dir?: string; json?: boolean }>();
    const cluster = openCluster({ ...(o.dir ? { dir: o.dir } : {}), json: true }, ctx);
    const { layout, state, secrets } = await cluster.context();
    const defaults: Record<string, string | number> = {
      repo: `${layout.backupsDir}/base`,
      archiveDir: layout.walArchiveDir,
      dataDir: layout.dataDir,
      socket: layout.socketDir,
      port: state.ports.postgres,
      password: secrets.superuser,
    };
    for (const [key, value] of Object.entries(defaults)) {
      if (action.getOptionValue(key) === undefined) action.setOptionValue(key, value);
    }
  });
}

/**
 * Records a successful cluster backup for monitoring: as the superuser over
 * the socket, `stellaops_monitoring.record_backup_success()` in the
 * `stellaops` database, the source of `stellaops_backup_last_success_timestamp_seconds`
 * (the backup-age alert). Skipped when monitoring was never set up there; a
 * failure is reported, not thrown (the backup itself is done).
 */
async function recordBackupSuccess(o: { dir?: string }, ctx: CliContext): Promise<{ line: string; doc: Record<string, unknown> }> {
  try {
    const cctx = await openCluster({ ...(o.dir ? { dir: o.dir } : {}), json: true }, ctx).context();
    const admin = adminClient(cctx, DATABASE);
    await admin.connect();
    try {
      const fn = await admin.query<{ ok: boolean }>(
        `select to_regprocedure('stellaops_monitoring.record_backup_success(timestamptz)') is not null as ok`,
      );
      if (!fn.rows[0]?.ok)
        return {
          line: 'monitoring: not set up in this cluster, backup not recorded (stella-db cluster up --monitoring)',
          doc: { monitoringRecorded: false },
        };
      await admin.query('select stellaops_monitoring.record_backup_success()');
      return { line: 'monitoring: recorded (stellaops_backup_last_success_timestamp_seconds)', doc: { monitoringRecorded: true } };
    } finally {
      await admin.end().catch(() => undefined);
    }
  } catch (e) {
    return {
      line: `monitoring: WARNING, the backup succeeded but was not recorded: ${(e as Error).message}`,
      doc: { monitoringRecorded: false },
    };
  }
}

/**
 * `stella-db cluster backup | backups | restore | verify-backup`: the backup
 * commands of `stella-db backup`, bound to the cluster.
 *
 * @example
 * ```sh
 * stella-db cluster backup --label nightly --keep 7
 * stella-db cluster restore --to '2026-12-03 11:00:00+00' --into /var/lib/stellaops/inspect
 * ```
 */
export function clusterBackupCommands(ctx: CliContext): Command[] {
  return [
    forCluster(
      backupCreateCommand(ctx, 'backup', 'cluster', (o) => recordBackupSuccess(o as { dir?: string }, ctx)),
      ctx,
    ),
    forCluster(backupListCommand(ctx, 'backups', 'cluster'), ctx),
    forCluster(backupRestoreCommand(ctx, 'restore', 'cluster'), ctx),
    forCluster(backupVerifyCommand(ctx, 'verify-backup', 'cluster'), ctx),
  ];
}
