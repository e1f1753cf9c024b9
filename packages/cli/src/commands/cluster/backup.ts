import type { Command } from 'commander';
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
    forCluster(backupCreateCommand(ctx, 'backup', 'cluster'), ctx),
    forCluster(backupListCommand(ctx, 'backups', 'cluster'), ctx),
    forCluster(backupRestoreCommand(ctx, 'restore', 'cluster'), ctx),
    forCluster(backupVerifyCommand(ctx, 'verify-backup', 'cluster'), ctx),
  ];
}
