/**
 * A real, TLS-only PostgreSQL 16 + PgBouncer 1.18 pair for the monitoring
 * tests (the cluster package of `stella-db cluster up` is built elsewhere):
 * a throwaway CA, PG with pg_stat_statements and WAL archiving
 * (basic_archive), PgBouncer in transaction mode with TLS to clients and
 * verify-full to the server, the monitoring role and a PgBouncer stats user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { EmbeddedCluster, TEST_TUNED_SETTINGS, freePort, locateBinaries, serverRunAs } from '@stellaops/embedded-server';
import { ensureMonitoringSetup, DEFAULT_BINARIES } from '../../src/index.js';

/** Programs the monitoring tests need; CI installs them (.ci/run). */
export const REQUIRED_PROGRAMS = [
  DEFAULT_BINARIES.prometheus,
  DEFAULT_BINARIES.postgresExporter,
  DEFAULT_BINARIES.pgbouncerExporter,
  '/usr/sbin/pgbouncer',
  '/usr/bin/openssl',
];

/** Programs from {@link REQUIRED_PROGRAMS} that are missing here. */
export function missingPrograms(extra: string[] = []): string[] {
  return [...REQUIRED_PROGRAMS, ...extra].filter((p) => {
    try {
      accessSync(p, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

export interface TestCluster {
  root: string;
  caFile: string;
  caPem: string;
  pg: { port: number; superuserUrl: string };
  monitor: { user: string; password: string; database: string };
  bouncer: { port: number; statsUser: string; statsPassword: string; appUser: string; appPassword: string; database: string };
  /** A pg client config for the app role through PgBouncer, TLS verify-full. */
  appThroughBouncer(): pg.ClientConfig;
  /** A pg client config for the superuser, direct, TLS verify-full. */
  superuser(): pg.ClientConfig;
  /** Stops PgBouncer (SIGTERM) and starts it again on the same port. */
  restartBouncer(): Promise<void>;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('/usr/bin/openssl', args, { cwd, stdio: 'pipe' });
}

export async function startTestCluster(): Promise<TestCluster> {
  const root = mkdtempSync(join('/dev/shm', 'stella-mon-'));
  const cleanup: (() => Promise<void>)[] = [async () => rmSync(root, { recursive: true, force: true })];
  try {
    return await startIn(root, cleanup);
  } catch (e) {
    // a half-started cluster never outlives a failed start
    for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
    throw e;
  }
}

async function startIn(root: string, cleanup: (() => Promise<void>)[]): Promise<TestCluster> {
  chmodSync(root, 0o755); // the server's OS user must reach it
  const runAs = serverRunAs();
  const own = (path: string) => {
    if (runAs) chownSync(path, runAs.uid, runAs.gid);
  };

  // --- a throwaway CA and a server certificate for 127.0.0.1 ---
  const tls = join(root, 'tls');
  mkdirSync(tls, { mode: 0o755 });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=stellaops-monitoring-test-ca',
    ],
    tls,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ],
    tls,
  );
  writeFileSync(join(tls, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ],
    tls,
  );
  rmSync(join(tls, 'ca.key'));
  chmodSync(join(tls, 'server.key'), 0o600);
  own(join(tls, 'server.key'));
  const caFile = join(tls, 'ca.crt');
  const caPem = readFileSync(caFile, 'utf8');

  // --- PostgreSQL 16 ---
  const archive = join(root, 'wal-archive');
  mkdirSync(archive, { mode: 0o700 });
  own(archive);
  const superPassword = randomBytes(18).toString('base64url');
  const binaries = locateBinaries(runAs, join('/dev/shm', 'stella-mon-pg-bin'));
  const cluster = new EmbeddedCluster({
    binaries,
    runAs,
    dataDir: join(root, 'pgdata'),
    logFile: join(root, 'postgres.log'),
    superuserPassword: superPassword,
    settings: {
      ...TEST_TUNED_SETTINGS,
      max_connections: '50',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track_utility': 'off',
      ssl: 'on',
      ssl_cert_file: join(tls, 'server.crt'),
      ssl_key_file: join(tls, 'server.key'),
      archive_mode: 'on',
      archive_library: 'basic_archive',
      'basic_archive.archive_directory': archive,
    },
  });
  await cluster.initialize();
  // TLS only: no plaintext TCP
  const hba = join(root, 'pgdata', 'pg_hba.conf');
  writeFileSync(hba, 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n');
  own(hba);
  const pgPort = await freePort();
  await cluster.start(pgPort);
  cleanup.push(() => cluster.stop({ mode: 'immediate' }));
  const superuser = (): pg.ClientConfig => ({
    host: '127.0.0.1',
    port: pgPort,
    user: 'postgres',
    password: superPassword,
    database: 'postgres',
    ssl: { ca: caPem },
  });

  const monitor = { user: 'stellaops_monitor', password: randomBytes(24).toString('base64url'), database: 'postgres' };
  const appUser = 'stellaops_app_demo';
  const appPassword = randomBytes(24).toString('base64url');
  const c = new pg.Client(superuser());
  await c.connect();
  try {
    await ensureMonitoringSetup(c, { password: monitor.password, role: monitor.user });
    await c.query(`CREATE ROLE ${appUser} LOGIN PASSWORD '${appPassword}'`);
    await c.query(`GRANT CREATE ON SCHEMA public TO ${appUser}`);
  } finally {
    await c.end();
  }

  // --- PgBouncer 1.18: TLS to clients, verify-full to the server ---
  const bdir = join(root, 'pgbouncer');
  mkdirSync(bdir, { mode: 0o700 });
  own(bdir);
  const statsUser = 'stellaops_stats';
  const statsPassword = randomBytes(24).toString('base64url');
  const bouncerPort = await freePort();
  writeFileSync(join(bdir, 'userlist.txt'), `"${appUser}" "${appPassword}"\n"${statsUser}" "${statsPassword}"\n`, { mode: 0o600 });
  writeFileSync(
    join(bdir, 'pgbouncer.ini'),
    [
      '[databases]',
      `stellaops = host=127.0.0.1 port=${pgPort} dbname=postgres`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${bouncerPort}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(bdir, 'userlist.txt')}`,
      `stats_users = ${statsUser}`,
      'pool_mode = transaction',
      'default_pool_size = 4',
      'max_client_conn = 100',
      'ignore_startup_parameters = extra_float_digits',
      'client_tls_sslmode = require',
      `client_tls_key_file = ${join(tls, 'server.key')}`,
      `client_tls_cert_file = ${join(tls, 'server.crt')}`,
      'server_tls_sslmode = verify-full',
      `server_tls_ca_file = ${caFile}`,
      `logfile = ${join(bdir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  for (const f of ['userlist.txt', 'pgbouncer.ini']) own(join(bdir, f));
  let bouncer!: ReturnType<typeof spawn>;
  let bouncerExited = false;
  const startBouncer = () => {
    bouncerExited = false;
    bouncer = spawn('/usr/sbin/pgbouncer', [join(bdir, 'pgbouncer.ini')], {
      stdio: 'ignore',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    bouncer.on('exit', () => (bouncerExited = true));
  };
  const stopBouncer = async () => {
    if (bouncerExited) return;
    const gone = new Promise((r) => bouncer.once('exit', r));
    bouncer.kill('SIGTERM');
    await gone;
  };
  const appThroughBouncer = (): pg.ClientConfig => ({
    host: '127.0.0.1',
    port: bouncerPort,
    user: appUser,
    password: appPassword,
    database: 'stellaops',
    ssl: { ca: caPem },
  });
  const waitForBouncer = async () => {
    for (let i = 0; ; i++) {
      const probe = new pg.Client(appThroughBouncer());
      try {
        await probe.connect();
        await probe.query('select 1');
        await probe.end();
        break;
      } catch (e) {
        await probe.end().catch(() => undefined);
        if (bouncerExited || i > 100) {
          let log = '';
          try {
            log = readFileSync(join(bdir, 'pgbouncer.log'), 'utf8').split('\n').slice(-10).join('\n');
          } catch {
            /* no log yet */
          }
          throw new Error(`PgBouncer did not accept connections: ${(e as Error).message}\n${log}`, { cause: e });
        }
        await sleep(100);
      }
    }
  };
  startBouncer();
  cleanup.push(stopBouncer);
  await waitForBouncer();

  return {
    root,
    caFile,
    caPem,
    pg: { port: pgPort, superuserUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres` },
    monitor,
    bouncer: { port: bouncerPort, statsUser, statsPassword, appUser, appPassword, database: 'stellaops' },
    appThroughBouncer,
    superuser,
    async restartBouncer() {
      await stopBouncer();
      startBouncer();
      await waitForBouncer();
    },
    async stop() {
      await stopBouncer();
      await cluster.stop({ mode: 'immediate' });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
