import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptsConnections, freePort } from './embedded-cluster.js';
import { ServerStartError } from './errors.js';
import type { RunAs } from './os-user.js';

/** Where {@link findPgBouncer} looks, in order (Debian's package first). */
export const PGBOUNCER_CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/**
 * The `[pgbouncer]` settings {@link startPgBouncer} writes unless told
 * otherwise: no authentication of its own (the server checks the password
 * given in the `[databases]` line), transaction pooling with 4 server
 * connections per pool, and the startup parameters node-postgres sends.
 */
export const PGBOUNCER_TEST_SETTINGS: Readonly<Record<string, string>> = {
  auth_type: 'any',
  pool_mode: 'transaction',
  default_pool_size: '4',
  max_client_conn: '100',
  ignore_startup_parameters: 'application_name,extra_float_digits,options',
};

/**
 * The first PgBouncer of {@link PGBOUNCER_CANDIDATES} that runs
 * (`pgbouncer --version`), or `undefined` when none is installed.
 *
 * @example
 * ```ts
 * const PGBOUNCER = findPgBouncer();
 * describe.skipIf(!PGBOUNCER)('through PgBouncer', () => { … });
 * ```
 */
export function findPgBouncer(candidates: readonly string[] = PGBOUNCER_CANDIDATES): string | undefined {
  return candidates.find((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0);
}

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** The program, e.g. from {@link findPgBouncer}. */
  binary: string;
  /**
   * An existing folder for `pgbouncer.ini` (0600: it may hold passwords),
   * the log and the Unix socket. It is made 0700 and, with `runAs`, handed
   * to that OS user.
   */
  dir: string;
  /**
   * The `[databases]` section, name to connection string, e.g.
   * `{ '*': 'host=127.0.0.1 port=5432 user=app password=…' }`.
   */
  databases: Record<string, string>;
  /** The OS user PgBouncer runs as; required when this process is root (see `serverRunAs`). */
  runAs?: RunAs | undefined;
  /** `[pgbouncer]` settings over {@link PGBOUNCER_TEST_SETTINGS}; the listen address, port, socket and log are set here. */
  settings?: Record<string, string>;
  /** How long PgBouncer may take to accept TCP connections; default 10 s. */
  startTimeoutMs?: number;
}

/** A running PgBouncer from {@link startPgBouncer}. */
export interface PgBouncerHandle {
  /** Its TCP port on 127.0.0.1. */
  readonly port: number;
  /** Its log file (in `dir`). */
  readonly logFile: string;
  /** Stops it (SIGTERM: every connection is cut) and waits until it has exited; SIGKILL after 3 s. */
  stop(): Promise<void>;
}

function iniFile(o: PgBouncerOptions, port: number, logFile: string): string {
  const settings: Record<string, string> = {
    ...PGBOUNCER_TEST_SETTINGS,
    ...o.settings,
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    unix_socket_dir: o.dir,
    logfile: logFile,
  };
  return [
    '[databases]',
    ...Object.entries(o.databases).map(([name, target]) => `${name} = ${target}`),
    '[pgbouncer]',
    ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
}

function logTail(logFile: string, lines = 10): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) === false) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts a real PgBouncer on a free loopback port in front of a test server,
 * as `runAs` when given (PgBouncer, like PostgreSQL, refuses to run as
 * root), and waits until it accepts TCP connections. Made for tests: it
 * runs attached to this process and writes the settings given as they are.
 *
 * @throws {ServerStartError} when it exits or does not listen in time, with the tail of its log.
 *
 * @example
 * ```ts
 * const bouncer = await startPgBouncer({
 *   binary: findPgBouncer()!,
 *   dir,
 *   runAs: serverRunAs(),
 *   databases: { stellaops: `host=127.0.0.1 port=${port} dbname=stellaops user=app password=${password}` },
 * });
 * const pooled = { host: '127.0.0.1', port: bouncer.port, user: 'app', password, database: 'stellaops' };
 * await bouncer.stop();
 * ```
 */
export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncerHandle> {
  const port = await freePort();
  const ini = join(o.dir, 'pgbouncer.ini');
  const logFile = join(o.dir, 'pgbouncer.log');
  writeFileSync(ini, iniFile(o, port, logFile), { mode: 0o600 });
  chmodSync(ini, 0o600);
  chmodSync(o.dir, 0o700);
  if (o.runAs) for (const path of [o.dir, ini]) chownSync(path, o.runAs.uid, o.runAs.gid);

  const child = spawn(o.binary, [ini], { stdio: 'ignore', ...(o.runAs ? { uid: o.runAs.uid, gid: o.runAs.gid } : {}) });
  let ended: { why: string; cause?: Error } | undefined;
  child.once('exit', (code, signal) => (ended ??= { why: `exited (${code ?? signal})` }));
  child.once('error', (cause) => (ended ??= { why: `could not run (${cause.message})`, cause }));
  const deadline = performance.now() + (o.startTimeoutMs ?? 10_000);
  while (!(await acceptsConnections(port))) {
    if (ended || performance.now() > deadline) {
      await stopChild(child);
      const why = ended ? `PgBouncer ${ended.why} before it accepted connections` : `PgBouncer did not listen on port ${port} in time`;
      throw new ServerStartError(why, logTail(logFile), { cause: ended?.cause });
    }
    await sleep(50);
  }
  return { port, logFile, stop: () => stopChild(child) };
}
