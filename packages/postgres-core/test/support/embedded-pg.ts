// Test/bench helper (not part of the public API): a dedicated embedded PostgreSQL 16
// on /dev/shm with its own lifecycle (start/stop/restart), plus PgBouncer detection.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedCluster, freePort, locateBinaries, serverRunAs, TEST_TUNED_SETTINGS } from '@stellaops/embedded-server';

/** A free TCP port on loopback. */
export { freePort };

/**
 * A dedicated embedded PG16 cluster on /dev/shm (from @stellaops/embedded-server,
 * test-tuned: fsync off), for tests and benchmarks that need their own server
 * lifecycle (restart under load). Its superuser password is random per instance.
 */
export class EmbeddedPostgres {
  readonly dir: string;
  port = 0;
  readonly #password = randomBytes(18).toString('base64url');
  readonly #cluster: EmbeddedCluster;

  /**
   * @param name folder prefix under /dev/shm
   * @param settings extra `postgresql.conf` settings over the test-tuned ones (e.g. `max_prepared_transactions`)
   */
  constructor(name = 'pgcore', settings: Readonly<Record<string, string>> = {}) {
    const runAs = serverRunAs();
    this.dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', `${name}-`));
    if (runAs) chownSync(this.dir, runAs.uid, runAs.gid);
    this.#cluster = new EmbeddedCluster({
      binaries: locateBinaries(runAs, join(this.dir, 'bin-cache')),
      dataDir: join(this.dir, 'data'),
      logFile: join(this.dir, 'log'),
      runAs,
      superuserPassword: this.#password,
      settings: { ...TEST_TUNED_SETTINGS, max_connections: '200', ...settings },
    });
  }

  /** initdb (once) + start on a free port. */
  async start(): Promise<this> {
    if (!this.#cluster.isInitialized()) await this.#cluster.initialize();
    if (this.port === 0) this.port = await freePort();
    await this.#cluster.start(this.port);
    return this;
  }

  /** Fast stop (terminates sessions). */
  async stop(): Promise<void> {
    await this.#cluster.stop();
  }

  /** Fast stop then start on the same port: every session is terminated, the server comes back. */
  async restartAsync(): Promise<void> {
    await this.#cluster.stop();
    await this.#cluster.start(this.port);
  }

  /** URL for a database, as the superuser by default. */
  url(database = 'postgres', user = 'postgres', password?: string): string {
    const pw = password ?? (user === 'postgres' ? this.#password : undefined);
    const auth = pw ? `${encodeURIComponent(user)}:${encodeURIComponent(pw)}` : encodeURIComponent(user);
    return `postgres://${auth}@127.0.0.1:${this.port}/${database}`;
  }

  /** Stops the server (if running) and deletes its directory. */
  async destroy(): Promise<void> {
    // immediate: clients still closing get no FATAL message that would surface as an unhandled 'error'
    await this.#cluster.stop({ mode: 'immediate' }).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Path of the pgbouncer binary, or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    const p = join(d, 'pgbouncer');
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

/** A PgBouncer in transaction mode in front of an {@link EmbeddedPostgres}. */
export class PgBouncer {
  port = 0;
  #child: ChildProcess | undefined;
  readonly #dir: string;

  /**
   * @param settings extra `[pgbouncer]` settings, overriding the defaults (e.g. the recommended
   *   `server_reset_query: 'DISCARD ALL', server_reset_query_always: '1'`)
   */
  constructor(
    readonly bin: string,
    readonly target: { port: number; host?: string },
    readonly users: Record<string, string>,
    readonly poolSize: number,
    readonly settings: Record<string, string> = {},
  ) {
    this.#dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'pgbouncer-'));
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const runAs = serverRunAs();
    const auth = Object.entries(this.users)
      .map(([u, p]) => `"${u}" "${p}"`)
      .join('\n');
    writeFileSync(join(this.#dir, 'users.txt'), auth + '\n');
    writeFileSync(
      join(this.#dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${this.target.host ?? '127.0.0.1'} port=${this.target.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        `unix_socket_dir = ${this.#dir}`,
        'auth_type = md5',
        `auth_file = ${join(this.#dir, 'users.txt')}`,
        'pool_mode = transaction',
        `default_pool_size = ${this.poolSize}`,
        'max_client_conn = 500',
        ...(this.settings.server_reset_query === undefined ? ['server_reset_query ='] : []),
        ...Object.entries(this.settings).map(([k, v]) => `${k} = ${v}`),
        `logfile = ${join(this.#dir, 'pgbouncer.log')}`,
        `pidfile = ${join(this.#dir, 'pgbouncer.pid')}`,
      ].join('\n') + '\n',
    );
    if (runAs) {
      for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(this.#dir, f), runAs.uid, runAs.gid);
    }
    this.#child = spawn(this.bin, [join(this.#dir, 'pgbouncer.ini')], {
      stdio: 'ignore',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    for (let i = 0; i < 100; i++) {
      if (existsSync(join(this.#dir, 'pgbouncer.pid'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    return this;
  }

  url(database: string, user: string, password: string): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    const c = this.#child;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
