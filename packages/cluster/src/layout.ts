import { join, resolve } from 'node:path';

/**
 * Where everything of one cluster lives, under one root folder. Components
 * (PostgreSQL, TLS, PgBouncer; later monitoring and backups) get their own
 * folder here, so adding one is adding a folder and a component.
 *
 * | path | what |
 * | --- | --- |
 * | `cluster.json` | ports, memory target, overrides (no secrets) |
 * | `secrets.json` | generated passwords, 0600, never printed |
 * | `pgdata/` | PGDATA (owned by the server's OS user, 0700) |
 * | `conf/` | the server's postgresql.conf (included from PGDATA) and pg_hba.conf |
 * | `run/` | Unix sockets (server admin socket, PgBouncer) |
 * | `tls/` | CA and server/client certificates; private keys 0600 |
 * | `pgbouncer/` | pgbouncer.ini, auth_file (SCRAM verifiers only), pid |
 * | `backups/wal-archive/` | WAL segments archived by `basic_archive` (issue 11) |
 * | `backups/base/` | base backups (issue 11) |
 * | `monitoring/` | exporter and Prometheus configuration and data (issue 10) |
 * | `logs/` | one log per component |
 *
 * @example
 * ```ts
 * const layout = clusterLayout('/var/lib/stellaops/cluster-1a2b3c4d5e6f');
 * layout.walArchiveDir; // '/var/lib/stellaops/cluster-1a2b3c4d5e6f/backups/wal-archive'
 * ```
 */
export interface ClusterLayout {
  /** The cluster's root folder. */
  readonly root: string;
  /** Non-secret state: ports, memory target, overrides. */
  readonly stateFile: string;
  /** Generated passwords (0600). */
  readonly secretsFile: string;
  /** PGDATA. */
  readonly dataDir: string;
  /** The server's computed postgresql.conf and pg_hba.conf (no secrets; rewritten by every `up`). */
  readonly confDir: string;
  /** Unix socket folder of the server and PgBouncer. */
  readonly socketDir: string;
  /** TLS material. */
  readonly tlsDir: string;
  /** PgBouncer's configuration and pid file. */
  readonly pgbouncerDir: string;
  /** Base backups and the WAL archive. */
  readonly backupsDir: string;
  /** Where `archive_library = basic_archive` copies WAL segments. */
  readonly walArchiveDir: string;
  /** Monitoring components' configuration and data. */
  readonly monitoringDir: string;
  /** Component logs. */
  readonly logsDir: string;
  /** Copy of the PostgreSQL binaries when the server's OS user cannot reach the installed ones. */
  readonly binCacheDir: string;
  /** TLS file paths. */
  readonly tls: {
    readonly caCert: string;
    readonly caKey: string;
    readonly serverCert: string;
    readonly serverKey: string;
    /** Client certificate PgBouncer's auth lookup role logs in with (`cert` authentication). */
    readonly authClientCert: string;
    readonly authClientKey: string;
  };
  /** Log file of a component. */
  logFile(component: string): string;
}

/** The layout of a cluster rooted at `root` (nothing is created). */
export function clusterLayout(root: string): ClusterLayout {
  const r = resolve(root);
  const tlsDir = join(r, 'tls');
  const backupsDir = join(r, 'backups');
  const logsDir = join(r, 'logs');
  return {
    root: r,
    stateFile: join(r, 'cluster.json'),
    secretsFile: join(r, 'secrets.json'),
    dataDir: join(r, 'pgdata'),
    confDir: join(r, 'conf'),
    socketDir: join(r, 'run'),
    tlsDir,
    pgbouncerDir: join(r, 'pgbouncer'),
    backupsDir,
    walArchiveDir: join(backupsDir, 'wal-archive'),
    monitoringDir: join(r, 'monitoring'),
    logsDir,
    binCacheDir: join(r, 'bin-cache'),
    tls: {
      caCert: join(tlsDir, 'ca.crt'),
      caKey: join(tlsDir, 'ca.key'),
      serverCert: join(tlsDir, 'server.crt'),
      serverKey: join(tlsDir, 'server.key'),
      authClientCert: join(tlsDir, 'pgbouncer-auth.crt'),
      authClientKey: join(tlsDir, 'pgbouncer-auth.key'),
    },
    logFile: (component: string) => join(logsDir, `${component}.log`),
  };
}
