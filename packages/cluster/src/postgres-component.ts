import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedCluster, locateBinaries, PortInUseError, ServerStartError } from '@stellaops/embedded-server';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ClusterError, ComponentError } from './errors.js';
import { ensureDir } from './proc.js';
import { renderPostgresqlConf } from './settings.js';
import { AUTH_ROLE } from './tls-component.js';
import { validateSettingsWithServer } from './validate-settings.js';

/** Database the modules live in. */
export const DATABASE = 'stellaops';

/** pg_hba.conf: TCP only over TLS with SCRAM (plaintext TCP rejected), the admin over the Unix socket. */
export function renderPgHba(): string {
  return [
    '# written by stella-db cluster up (rewritten on every up)',
    '# TYPE    DATABASE USER ADDRESS METHOD',
    '# local admin: the superuser over the Unix socket in the private run/ folder',
    'local     all      postgres                scram-sha-256',
    'local     all      all                     reject',
    "# PgBouncer's auth lookup role: TLS client certificate signed by the local CA, no password",
    `hostssl   all      ${AUTH_ROLE} 127.0.0.1/32 cert`,
    `hostssl   all      ${AUTH_ROLE} ::1/128      cert`,
    `host      all      ${AUTH_ROLE} 0.0.0.0/0    reject`,
    `host      all      ${AUTH_ROLE} ::/0         reject`,
    '# everyone else: TLS + SCRAM; the superuser only locally',
    'hostssl   all      postgres 0.0.0.0/0      reject',
    'hostssl   all      postgres ::/0           reject',
    'hostssl   all      all   127.0.0.1/32      scram-sha-256',
    'hostssl   all      all   ::1/128           scram-sha-256',
    '# plaintext TCP: refused',
    'hostnossl all      all   0.0.0.0/0         reject',
    'hostnossl all      all   ::/0              reject',
    '',
  ].join('\n');
}

/**
 * PostgreSQL 16 from the embedded binaries, with its own data folder and
 * port. Its settings live in the layout's `conf/postgresql.conf` (included
 * from PGDATA and rewritten on every `up`), checked first by `postgres -C`.
 */
export class PostgresComponent implements ClusterComponent {
  readonly name = 'postgres';

  #cluster(ctx: ClusterContext): EmbeddedCluster {
    const binaries = locateBinaries(ctx.runAs, ctx.layout.binCacheDir);
    return new EmbeddedCluster({
      binaries,
      dataDir: ctx.layout.dataDir,
      logFile: ctx.layout.logFile('postgres'),
      runAs: ctx.runAs,
      superuserPassword: ctx.secrets.superuser,
      settings: { include: join(ctx.layout.confDir, 'postgresql.conf') },
    });
  }

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    const { layout, runAs } = ctx;
    const shared = runAs ? 0o711 : 0o700;
    for (const d of [layout.confDir, layout.logsDir, layout.backupsDir]) ensureDir(d, shared);
    ensureDir(layout.socketDir, 0o700, runAs);
    ensureDir(layout.walArchiveDir, 0o700, runAs);
    const binaries = locateBinaries(ctx.runAs, ctx.layout.binCacheDir);
    const settings = [
      ...ctx.settings.postgres,
      {
        name: 'hba_file',
        value: join(layout.confDir, 'pg_hba.conf'),
        reason: 'pg_hba.conf kept with the computed settings',
        scope: 'host' as const,
      },
    ];
    await validateSettingsWithServer(binaries.postgres, settings);
    writeAtomic(
      join(layout.confDir, 'postgresql.conf'),
      `# written by stella-db cluster up (rewritten on every up): edit with --set, not here\n${renderPostgresqlConf(settings)}`,
    );
    writeAtomic(join(layout.confDir, 'pg_hba.conf'), renderPgHba());
    const cluster = this.#cluster(ctx);
    if (cluster.runningPort() !== undefined) return this.status(ctx);
    if (!cluster.isInitialized()) {
      ctx.progress('initializing the PostgreSQL 16 data folder (initdb)');
      await this.#wrap(() => cluster.initialize(), cluster);
    }
    ctx.progress(`starting PostgreSQL on 127.0.0.1:${ctx.state.ports.postgres}`);
    await this.#wrap(() => cluster.start(ctx.state.ports.postgres), cluster);
    return this.status(ctx);
  }

  async stop(ctx: ClusterContext): Promise<void> {
    await this.#cluster(ctx).stop();
  }

  /** Stops the server immediately (SIGQUIT), as a crash would; tests and `down --immediate`. */
  async kill(ctx: ClusterContext): Promise<void> {
    const pid = this.#cluster(ctx).runningPid();
    if (pid) process.kill(pid, 'SIGKILL');
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const cluster = this.#cluster(ctx);
    const base = { name: this.name, port: ctx.state.ports.postgres };
    if (!cluster.isInitialized()) return { ...base, state: 'missing' };
    const pid = cluster.runningPid();
    if (pid === undefined) {
      const stale = existsSync(join(ctx.layout.dataDir, 'postmaster.pid'));
      return ctx.state.up || stale
        ? {
            ...base,
            state: 'crashed',
            detail: `not running although the cluster is up; log: ${cluster.logFile}. Fix: stella-db cluster up (recovers from the WAL)`,
          }
        : { ...base, state: 'stopped' };
    }
    return {
      ...base,
      state: 'running',
      pid,
      port: cluster.runningPort() ?? ctx.state.ports.postgres,
      tls: 'ssl=on, hostssl only',
      detail: `data ${ctx.layout.dataDir}`,
    };
  }

  async #wrap(fn: () => Promise<void>, cluster: EmbeddedCluster): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (e instanceof PortInUseError) {
        throw new ClusterError(
          'CLUSTER_PORT_IN_USE',
          `${e.message.replace(/ Fix:.*/, '')} It is this cluster's saved PostgreSQL port. Fix: stop the other process, or pass --port <free port>.`,
          { cause: e },
        );
      }
      if (e instanceof ServerStartError) throw new ComponentError(this.name, e.message.split('\n')[0]!, e.logTail, { cause: e });
      throw new ComponentError(this.name, `PostgreSQL failed: ${(e as Error).message}`, cluster.logTail(), { cause: e });
    }
  }
}

/** A superuser client over the Unix socket (the local admin path). */
export function adminClient(ctx: Pick<ClusterContext, 'layout' | 'state' | 'secrets'>, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: ctx.layout.socketDir,
    port: ctx.state.ports.postgres,
    user: 'postgres',
    password: ctx.secrets.superuser,
    database,
    application_name: 'stella-db cluster',
  });
}

/** Writes a root-owned, world-readable file (no secrets) atomically. */
function writeAtomic(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}
