import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { redactSecrets } from '@stellaops/safe-text';
import { PortInUseError, ServerStartError } from './errors.js';
import type { RunAs } from './os-user.js';
import type { PgBinaries } from './pg-binaries.js';

/** Settings for tests only: fast, not durable. Never use them for a real cluster. */
export const TEST_TUNED_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: '300',
  shared_buffers: '128MB',
  max_wal_size: '1GB',
  checkpoint_timeout: '30min',
  log_min_messages: 'warning',
  timezone: 'UTC',
};

/** Durable settings for a developer's local server (`stella-db up`). */
export const DURABLE_SETTINGS: Readonly<Record<string, string>> = {
  max_connections: '200',
  timezone: 'UTC',
};

/** Options of one embedded PostgreSQL cluster (a data directory plus a server process). */
export interface EmbeddedClusterOptions {
  binaries: PgBinaries;
  /** The data directory (PGDATA). Its parent must exist. */
  dataDir: string;
  /** Server log file. */
  logFile: string;
  /** OS user to run as (required when this process is root). */
  runAs: RunAs | undefined;
  /** Password of the `postgres` superuser, set at initdb. */
  superuserPassword: string;
  /** Extra `postgresql.conf` settings written at initdb. */
  settings: Readonly<Record<string, string>>;
  /** Address to listen on; default 127.0.0.1. */
  listenAddress?: string;
}

/** Runs a program to completion, collecting its output; rejects with the output on failure. */
function run(cmd: string, args: string[], runAs: RunAs | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(`${cmd.split('/').pop()} exited with code ${code}`), { output: out }));
    });
  });
}

/** True when nothing listens on `port` at `host`. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Whether something accepts TCP connections on `port` of `host` now: a
 * server's readiness probe (the opposite question to {@link isPortFree}).
 *
 * @example
 * ```ts
 * while (!(await acceptsConnections(port))) await sleep(50);
 * ```
 */
export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A free TCP port on `host`, chosen by the OS. Two calls may return the same port: for several at once use {@link freePorts}. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/**
 * `count` free TCP ports on `host`, all different: each is held open until
 * all are chosen (two {@link freePort} calls in a row can get the same port
 * back from the OS).
 *
 * @example
 * ```ts
 * const [postgres, pgbouncer] = await freePorts(2);
 * ```
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
    }
    return servers.map((srv) => {
      const addr = srv.address();
      return typeof addr === 'object' && addr ? addr.port : 0;
    });
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))));
  }
}

/**
 * One embedded PostgreSQL 16 cluster: `initdb` into a data directory, then
 * the postmaster started detached. The server runs detached (it outlives this object), so
 * callers that share it across processes coordinate who stops it.
 *
 * @example
 * ```ts
 * const cluster = new EmbeddedCluster({ binaries, dataDir, logFile, runAs, superuserPassword: 'postgres', settings: TEST_TUNED_SETTINGS });
 * if (!cluster.isInitialized()) await cluster.initialize();
 * await cluster.start(54321);
 * // … postgres://postgres:postgres@127.0.0.1:54321/postgres …
 * await cluster.stop();
 * ```
 */
export class EmbeddedCluster {
  readonly #o: EmbeddedClusterOptions;

  constructor(options: EmbeddedClusterOptions) {
    this.#o = options;
  }

  /** The data directory. */
  get dataDir(): string {
    return this.#o.dataDir;
  }

  /** The server log file. */
  get logFile(): string {
    return this.#o.logFile;
  }

  /** True when the data directory holds an initialized cluster. */
  isInitialized(): boolean {
    return existsSync(join(this.#o.dataDir, 'PG_VERSION')) && existsSync(join(this.#o.dataDir, 'postgresql.conf'));
  }

  /**
   * Runs initdb into a temporary sibling folder and renames it into place only
   * when complete, so a crash never leaves a half-initialized data directory.
   */
  async initialize(): Promise<void> {
    const { dataDir, runAs, binaries } = this.#o;
    const tmp = `${dataDir}.init-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    const pwfile = `${tmp}.pw`;
    writeFileSync(pwfile, `${this.#o.superuserPassword}\n`, { mode: 0o600 });
    if (runAs) {
      chownSync(tmp, runAs.uid, runAs.gid);
      chownSync(pwfile, runAs.uid, runAs.gid);
    }
    try {
      await run(
        binaries.initdb,
        [
          '-D',
          tmp,
          '-U',
          'postgres',
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
          '--no-sync',
          '--no-instructions',
        ],
        runAs,
        120_000,
      );
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw new ServerStartError(`initdb failed for ${dataDir}.`, String((e as { output?: string }).output ?? ''), { cause: e });
    } finally {
      rmSync(pwfile, { force: true });
    }
    const lines = [
      '',
      '# --- written by @stellaops/embedded-server ---',
      `listen_addresses = '${this.#o.listenAddress ?? '127.0.0.1'}'`,
      "unix_socket_directories = ''",
      ...Object.entries(this.#o.settings).map(([k, v]) => `${k} = '${v}'`),
      '',
    ];
    appendFileSync(join(tmp, 'postgresql.conf'), lines.join('\n'));
    rmSync(dataDir, { recursive: true, force: true });
    renameSync(tmp, dataDir);
  }

  /**
   * PID of the running postmaster per postmaster.pid, if that process is alive
   * and (where /proc exists) really is the postmaster of this data directory —
   * after a crash or reboot the PID may belong to an unrelated process.
   */
  runningPid(): number | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.#o.dataDir, 'postmaster.pid'), 'utf8');
    } catch (e) {
      // no server, or one that just exited and removed its pid file while we looked
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const pid = Number(text.split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
    }
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return pid; // no /proc here: trust the PID
    }
    return cmdline.split('\0').includes(this.#o.dataDir) ? pid : undefined;
  }

  /** Port recorded in postmaster.pid by the running server, if any. */
  runningPort(): number | undefined {
    if (!this.runningPid()) return undefined;
    const lines = readFileSync(join(this.#o.dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const port = Number(lines[3]);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  }

  /**
   * Starts the server on `port`, detached from this process, and waits until
   * postmaster.pid says it is ready (polled every 10 ms; `pg_ctl -w` polls
   * every 100 ms).
   */
  async start(port: number): Promise<void> {
    const host = this.#o.listenAddress ?? '127.0.0.1';
    if (!(await isPortFree(port, host))) throw new PortInUseError(port);
    const { binaries, dataDir, logFile, runAs } = this.#o;
    // O_NOFOLLOW + fchown: a planted symlink never makes root chown or append to another file
    const fd = openSync(logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    if (runAs) fchownSync(fd, runAs.uid, runAs.gid);
    let exited: number | null | undefined;
    try {
      const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port)], {
        detached: true,
        stdio: ['ignore', fd, fd],
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
        env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
      });
      child.on('exit', (code) => (exited = code));
      child.on('error', () => (exited = -1));
      child.unref();
    } finally {
      closeSync(fd);
    }
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (this.#readyPid() !== undefined) return;
      if (exited !== undefined || performance.now() > deadline) {
        const tail = this.logTail();
        if (/could not bind|Address already in use/i.test(tail)) throw new PortInUseError(port);
        throw new ServerStartError(
          `The embedded PostgreSQL in ${dataDir} did not start on port ${port} (${exited !== undefined ? `exited with code ${exited}` : 'not ready after 60 s'}).`,
          tail,
        );
      }
      await sleep(10);
    }
  }

  /**
   * Stops the server and waits until it is gone: `fast` (default) ends open
   * sessions cleanly; `immediate` (for throwaway clusters) drops them without
   * a goodbye and skips the shutdown checkpoint.
   */
  async stop(options: { mode?: 'fast' | 'immediate' } = {}): Promise<void> {
    const pid = this.runningPid();
    if (!pid) return;
    process.kill(pid, options.mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
    const deadline = performance.now() + 60_000;
    while (this.runningPid() === pid) {
      if (performance.now() > deadline) {
        process.kill(pid, 'SIGQUIT');
        break;
      }
      await sleep(10);
    }
  }

  /** PID of the postmaster once postmaster.pid reports it ready to accept connections. */
  #readyPid(): number | undefined {
    const pid = this.runningPid();
    if (!pid) return undefined;
    const lines = readFileSync(join(this.#o.dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return lines[7]?.trim() === 'ready' ? pid : undefined;
  }

  /** The last `lines` lines of the server log. */
  logTail(lines = 20): string {
    try {
      const tail = readFileSync(this.#o.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      // a failed CREATE/ALTER ROLE is logged with its statement: never pass a password on
      return redactSecrets(tail);
    } catch {
      return '';
    }
  }
}
