import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { clusterBackupCommands } from './backup.js';
import { configCommand } from './config.js';
import { clusterDownCommand } from './down.js';
import { clusterEnvCommand } from './env.js';
import { clusterManifestsCommand } from './manifests.js';
import { clusterStatusCommand } from './status.js';
import { clusterTopCommand } from './top.js';
import { clusterUpCommand } from './up.js';

/** `stella-db cluster …`: the production-shaped PostgreSQL 16 + PgBouncer + TLS cluster. */
export function clusterCommand(ctx: CliContext): Command {
  const cluster = new Command('cluster')
    .description(
      'the production-shaped PostgreSQL 16 cluster (TLS, PgBouncer, monitoring, backups): config, up, down, status, env, top, manifests, backup, backups, restore, verify-backup',
    )
    .addCommand(configCommand(ctx))
    .addCommand(clusterUpCommand(ctx))
    .addCommand(clusterDownCommand(ctx))
    .addCommand(clusterStatusCommand(ctx))
    .addCommand(clusterEnvCommand(ctx))
    .addCommand(clusterTopCommand(ctx))
    .addCommand(clusterManifestsCommand(ctx));
  for (const cmd of clusterBackupCommands(ctx)) cluster.addCommand(cmd);
  return cluster;
}
