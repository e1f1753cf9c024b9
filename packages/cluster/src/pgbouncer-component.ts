import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { acceptsConnections, isPortFree } from '@stellaops/embedded-server';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ClusterError, ComponentError } from './errors.js';
import { alive, closeQuietly, cmdline, ensureDir, logTail, openLog } from './proc.js';
import { DATABASE } from './postgres-component.js';
import { AUTH_QUERY } from './roles-component.js';
import { scramVerifier } from './scram.js';
import type { PoolerReset } from './state.js';
import { AUTH_ROLE } from './tls-component.js';

/** PgBouncer console user that may run admin commands (PAUSE, RELOAD…). */
export const PGBOUNCER_ADMIN = 'stellaops_pgbouncer_admin';
/** PgBouncer console user for read-only SHOW commands (monitoring). */
export const PGBOUNCER_STATS = 'stellaops_pgbouncer_stats';

/** One PgBouncer setting with the reason for its value. */
export interface PgBouncerSetting {
  readonly name: string;
  readonly value: string;
  readonly reason: string;
}

/** PgBouncer's [pgbouncer] settings for a context (pure). */
export function pgbouncerSettings(ctx: Pick<ClusterContext, 'layout' | 'state' | 'settings'>): PgBouncerSetting[] {
  const { layout, state, settings } = ctx;
  const p = settings.pool;
  const s = (name: string, value: string | number, reason: string): PgBouncerSetting => ({ name, value: String(value), reason });
  return [
    s('listen_addr', '127.0.0.1', 'loopback only (this machine)'),
    s('listen_port', state.ports.pgbouncer, "this cluster's PgBouncer port"),
    s('unix_socket_dir', layout.socketDir, "console socket in the cluster's private run/ folder"),
    s(
      'pool_mode',
      'transaction',
      'a server connection per transaction: 500 clients share the capped pool (tenant context is transaction-local)',
    ),
    s('max_client_conn', p.maxClientConn, 'seed: 500 client connections'),
    s('default_pool_size', p.defaultPoolSize, `server connections per user/database, = max_db_connections`),
    s(
      'max_db_connections',
      p.maxDbConnections,
      `cap: ${p.maxDbConnections} + ${p.directHeadroom} direct + ${p.superuserReserved} superuser-reserved = max_connections`,
    ),
    s('reserve_pool_size', 0, 'no extra connections beyond the cap'),
    ...poolerResetSettings(state.poolerReset ?? 'driver').map((r) => s(r.name, r.value, r.reason)),
    s('auth_type', 'scram-sha-256', 'clients authenticate with SCRAM; PgBouncer logs in to the server with the same SCRAM keys'),
    s('auth_user', AUTH_ROLE, 'lookup role (certificate login, no password) for auth_query'),
    s('auth_query', AUTH_QUERY, 'SECURITY DEFINER function over pg_authid: no plaintext password file'),
    s('auth_file', join(layout.pgbouncerDir, 'userlist.txt'), 'SCRAM verifiers of the console users only'),
    s('admin_users', PGBOUNCER_ADMIN, 'console admin'),
    s('stats_users', PGBOUNCER_STATS, 'console read-only user for monitoring'),
    s('client_tls_sslmode', 'require', 'clients must use TLS (they verify the server certificate: sslmode=verify-full)'),
    s('client_tls_cert_file', layout.tls.serverCert, 'the server certificate (SAN localhost, 127.0.0.1)'),
    s('client_tls_key_file', layout.tls.serverKey, 'its key (0600)'),
    s('client_tls_ca_file', layout.tls.caCert, 'the local CA'),
    s('client_tls_protocols', 'tlsv1.2,tlsv1.3', 'no TLS 1.0/1.1'),
    s('server_tls_sslmode', 'verify-full', "PgBouncer verifies the server's certificate and host name"),
    s('server_tls_ca_file', layout.tls.caCert, 'the local CA'),
    s('server_tls_cert_file', layout.tls.authClientCert, "client certificate: the lookup role's certificate login"),
    s('server_tls_key_file', layout.tls.authClientKey, 'its key (0600)'),
    s('server_tls_protocols', 'tlsv1.2,tlsv1.3', 'no TLS 1.0/1.1'),
    s('ignore_startup_parameters', 'extra_float_digits', 'sent by JDBC/Npgsql; harmless'),
    s('pidfile', join(layout.socketDir, 'pgbouncer.pid'), 'tells status and down which process it is'),
    s('stats_period', 60, 'stats averaging window (seconds)'),
  ];
}

/**
 * PgBouncer's reset settings for a {@link PoolerReset} mode (pure; the local
 * cluster's pgbouncer.ini and the CloudNativePG `Pooler` both use it).
 *
 * @example
 * ```ts
 * poolerResetSettings('always').find((s) => s.name === 'server_reset_query_always')?.value; // '1'
 * ```
 */
export function poolerResetSettings(mode: PoolerReset): PgBouncerSetting[] {
  return [
    {
      name: 'server_reset_query',
      value: 'DISCARD ALL',
      reason: 'drops any session state (SET, prepared statements, cursors, LISTEN) when a client disconnects',
    },
    mode === 'always'
      ? {
          name: 'server_reset_query_always',
          value: '1',
          reason: '--pooler-reset always: DISCARD ALL after every transaction too, for clients other than the data layer',
        }
      : {
          name: 'server_reset_query_always',
          value: '0',
          reason:
            '--pooler-reset driver: the data layer resets what a unit may leave inside its own transaction (PgBouncer docs: transaction pooling needs no reset)',
        },
  ];
}

/** Renders pgbouncer.ini (no secrets). */
export function renderPgBouncerIni(ctx: Pick<ClusterContext, 'layout' | 'state' | 'settings'>): string {
  const lines = ['; written by stella-db cluster up (rewritten on every up)', '[databases]'];
  lines.push(`${DATABASE} = host=127.0.0.1 port=${ctx.state.ports.postgres} dbname=${DATABASE}`, '', '[pgbouncer]');
  for (const s of pgbouncerSettings(ctx)) lines.push(`; ${s.reason}`, `${s.name} = ${s.value}`);
  return `${lines.join('\n')}\n`;
}

/** Pool counters from PgBouncer's `SHOW POOLS` for the app database. */
export interface PoolUse {
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  serversUsed: number;
}

/**
 * PgBouncer 1.18 (Debian's `/usr/sbin/pgbouncer`) in front of the server:
 * transaction pooling, 500 clients, server connections capped, TLS both
 * sides, SCRAM via auth_query. Runs as the server's OS user.
 */
export class PgBouncerComponent implements ClusterComponent {
  readonly name = 'pgbouncer';

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    const { layout, runAs } = ctx;
    const ini = join(layout.pgbouncerDir, 'pgbouncer.ini');
    ensureDir(layout.pgbouncerDir, runAs ? 0o711 : 0o700);
    writeFile(ini, renderPgBouncerIni(ctx), 0o644);
    const users = Object.entries(ctx.secrets.pgbouncer).map(([u, pw]) => `"${u}" "${scramVerifier(pw)}"`);
    writeFile(join(layout.pgbouncerDir, 'userlist.txt'), `${users.join('\n')}\n`, 0o600, runAs);
    if (this.#pid(ctx) !== undefined) {
      // running: pick up a changed ini without dropping clients
      await this.#console(ctx, PGBOUNCER_ADMIN, 'RELOAD').catch(() => undefined);
      return this.status(ctx);
    }
    const port = ctx.state.ports.pgbouncer;
    if (!(await isPortFree(port))) {
      throw new ClusterError(
        'CLUSTER_PORT_IN_USE',
        `Port ${port} (this cluster's PgBouncer port) is already in use by another process. Fix: stop that process, or pass --pgbouncer-port <free port>.`,
      );
    }
    ctx.progress(`starting PgBouncer on 127.0.0.1:${port}`);
    const logFile = layout.logFile('pgbouncer');
    const fd = openLog(logFile, runAs);
    let exited: number | null | undefined;
    try {
      const child = spawn(ctx.programs.pgbouncer!, [ini], {
        detached: true,
        stdio: ['ignore', fd, fd],
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      });
      child.on('exit', (code) => (exited = code));
      child.on('error', () => (exited = -1));
      child.unref();
    } finally {
      closeQuietly(fd);
    }
    const deadline = performance.now() + 20_000;
    while (!(await acceptsConnections(port))) {
      if (exited !== undefined || performance.now() > deadline) {
        throw new ComponentError(
          this.name,
          `PgBouncer did not start on port ${port} (${exited !== undefined ? `exited with code ${exited}` : 'not listening after 20 s'}).`,
          logTail(logFile),
        );
      }
      await sleep(20);
    }
    return this.status(ctx);
  }

  async stop(ctx: ClusterContext): Promise<void> {
    const pid = this.#pid(ctx);
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    const deadline = performance.now() + 20_000;
    while (alive(pid) && performance.now() < deadline) await sleep(20);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(join(ctx.layout.socketDir, 'pgbouncer.pid'), { force: true });
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const port = ctx.state.ports.pgbouncer;
    const pid = this.#pid(ctx);
    if (pid === undefined) {
      if (!existsSync(join(ctx.layout.pgbouncerDir, 'pgbouncer.ini'))) return { name: this.name, state: 'missing', port };
      return ctx.state.up
        ? {
            name: this.name,
            state: 'crashed',
            port,
            detail: `not running although the cluster is up; log: ${ctx.layout.logFile('pgbouncer')}. Fix: stella-db cluster up`,
          }
        : { name: this.name, state: 'stopped', port };
    }
    let use: PoolUse | undefined;
    try {
      use = await this.poolUse(ctx);
    } catch {
      use = undefined;
    }
    return {
      name: this.name,
      state: 'running',
      pid,
      port,
      tls: 'clients: TLS required; to server: verify-full',
      detail: use
        ? `pool: ${use.clientsActive} clients active, ${use.clientsWaiting} waiting; ${use.serversUsed}/${ctx.settings.pool.maxDbConnections} server connections (${use.serversActive} active)`
        : 'pool: console not answering',
      ...(use ? { data: { pool: use, cap: ctx.settings.pool.maxDbConnections } } : {}),
    };
  }

  /** `SHOW POOLS` for the app database, through the console as the stats user (TLS verify-full). */
  async poolUse(ctx: ClusterContext): Promise<PoolUse> {
    const rows = (await this.#console(ctx, PGBOUNCER_STATS, 'SHOW POOLS')) as Record<string, string>[];
    const sum = (k: string) => rows.filter((r) => r.database === DATABASE).reduce((n, r) => n + Number(r[k] ?? 0), 0);
    const serversActive = sum('sv_active');
    const serversIdle = sum('sv_idle');
    return {
      clientsActive: sum('cl_active'),
      clientsWaiting: sum('cl_waiting'),
      serversActive,
      serversIdle,
      serversUsed: serversActive + serversIdle + sum('sv_used') + sum('sv_tested') + sum('sv_login'),
    };
  }

  async #console(ctx: ClusterContext, user: string, command: string): Promise<unknown[]> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: ctx.state.ports.pgbouncer,
      user,
      password: ctx.secrets.pgbouncer[user],
      database: 'pgbouncer',
      ssl: { ca: readFileSync(ctx.layout.tls.caCert, 'utf8'), servername: 'localhost' },
      connectionTimeoutMillis: 5_000,
    });
    try {
      await client.connect();
      return (await client.query(command)).rows as unknown[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  #pid(ctx: ClusterContext): number | undefined {
    const file = join(ctx.layout.socketDir, 'pgbouncer.pid');
    let pid: number;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
    // the pid file lives in a folder the server's OS user owns: only trust a process that runs this cluster's ini
    const cmd = cmdline(pid);
    return cmd?.includes(join(ctx.layout.pgbouncerDir, 'pgbouncer.ini')) ? pid : undefined;
  }
}

function writeFile(file: string, text: string, mode: number, owner?: { uid: number; gid: number }): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
}
