/**
 * The exporter targets of a {@link TestCluster}: the monitoring role straight
 * to PostgreSQL and the PgBouncer stats user, both over TLS with the
 * cluster's CA — what `startMonitoring` and `collectTop` are given.
 */
import type { MonitoringOptions } from '../../src/index.js';
import type { TestCluster } from './cluster.js';

/** What {@link monitoringTargets} may change. */
export interface TargetOverrides {
  /** The monitoring role's password (e.g. a wrong one); default the real one. */
  postgresPassword?: string;
}

/**
 * The `postgres` and `pgbouncer` targets for the cluster's monitoring role
 * and stats user.
 *
 * @example
 * ```ts
 * await startMonitoring({ dir, ...monitoringTargets(cluster), scrapeIntervalSeconds: 1 });
 * ```
 */
export function monitoringTargets(cluster: TestCluster, over: TargetOverrides = {}): Pick<MonitoringOptions, 'postgres' | 'pgbouncer'> {
  return {
    postgres: {
      host: '127.0.0.1',
      port: cluster.pg.port,
      user: cluster.monitor.user,
      password: over.postgresPassword ?? cluster.monitor.password,
      database: cluster.monitor.database,
      sslrootcert: cluster.caFile,
    },
    pgbouncer: {
      host: '127.0.0.1',
      port: cluster.bouncer.port,
      user: cluster.bouncer.statsUser,
      password: cluster.bouncer.statsPassword,
      sslrootcert: cluster.caFile,
    },
  };
}
