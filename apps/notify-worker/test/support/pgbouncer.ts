// A real PgBouncer (Debian package) in transaction mode in front of the test server, with client-side TLS
// from a throwaway CA, that can be restarted on the same port (modelled on postgres-core's test helper).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, serverRunAs } from '@stellaops/embedded-server';

/** Path of the pgbouncer binary, or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (d && existsSync(join(d, 'pgbouncer'))) return join(d, 'pgbouncer');
  }
  return undefined;
}

export class PgBouncer {
  port = 0;
  readonly dir: string;
  #child: ChildProcess | undefined;

  constructor(
    readonly bin: string,
    readonly target: { host: string; port: number },
    readonly users: Record<string, string>,
  ) {
    // /dev/shm: reachable by the OS user pgbouncer runs as (mkdtemp under /tmp is 0700 root)
    this.dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'nw-pgbouncer-'));
    chmodSync(this.dir, 0o755);
  }

  /** The throwaway CA's certificate (clients verify PgBouncer with it). */
  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  #writeFiles(): void {
    const runAs = serverRunAs();
    const f = (name: string) => join(this.dir, name);
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=notify-worker test CA',
    ]);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    ]);
    writeFileSync(
      f('users.txt'),
      Object.entries(this.users)
        .map(([u, p]) => `"${u}" "${p}"`)
        .join('\n') + '\n',
    );
    writeFileSync(
      f('pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${this.target.host} port=${this.target.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        `unix_socket_dir = ${this.dir}`,
        'auth_type = scram-sha-256',
        `auth_file = ${f('users.txt')}`,
        'pool_mode = transaction',
        'default_pool_size = 20',
        'max_client_conn = 500',
        'server_reset_query =',
        'client_tls_sslmode = require',
        `client_tls_key_file = ${f('server.key')}`,
        `client_tls_cert_file = ${f('server.pem')}`,
        `logfile = ${f('pgbouncer.log')}`,
        `pidfile = ${f('pgbouncer.pid')}`,
      ].join('\n') + '\n',
    );
    for (const name of ['ca.key', 'server.key', 'users.txt']) chmodSync(f(name), 0o600);
    if (runAs)
      for (const name of ['', 'ca.key', 'server.key', 'server.pem', 'ca.pem', 'users.txt', 'pgbouncer.ini'])
        chownSync(f(name), runAs.uid, runAs.gid);
  }

  /** First start: certificates, config, a free port. */
  async start(): Promise<this> {
    this.port = await freePort();
    this.#writeFiles();
    await this.#spawn();
    return this;
  }

  async #spawn(): Promise<void> {
    const runAs = serverRunAs();
    rmSync(join(this.dir, 'pgbouncer.pid'), { force: true });
    this.#child = spawn(this.bin, [join(this.dir, 'pgbouncer.ini')], {
      stdio: 'ignore',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    for (let i = 0; i < 100 && !existsSync(join(this.dir, 'pgbouncer.pid')); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
  }

  /** Immediate shutdown (SIGTERM: every client and server connection is cut). */
  async kill(): Promise<void> {
    const c = this.#child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }

  /** Starts again on the same port with the same certificates. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  url(database: string, user: string, password: string): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}?sslmode=verify-full`;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
