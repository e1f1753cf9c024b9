import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BinariesUnavailableError,
  EmbeddedCluster,
  ensurePrivateDir,
  freePort,
  locateBinaries,
  PortInUseError,
  serverRunAs,
  TEST_TUNED_SETTINGS,
  withFileLock,
  type PgBinaries,
  type RunAs,
} from '@stellaops/embedded-server';
import { FixturePortInUseError, ProviderUnavailableError } from '../errors/index.js';
import { isAlive, Leases } from '../embedded/leases.js';
import type { StartedServer } from './started-server.js';

/**
 * The test server's superuser password: random per cluster, kept in
 * `<cacheDir>/superuser.secret` (0600) so later runs reuse the cluster. A
 * fixed password would let any local user log in as superuser over TCP. A
 * new secret is only saved once a cluster with it has started ({@link saveSecret}).
 */
function readSecret(cacheDir: string): string | undefined {
  const file = join(cacheDir, 'superuser.secret');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function saveSecret(cacheDir: string, password: string): void {
  const tmp = join(cacheDir, `superuser.secret.${process.pid}`);
  writeFileSync(tmp, password, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, join(cacheDir, 'superuser.secret'));
}

const WATCHDOG = fileURLToPath(new URL('../../bin/watchdog.mjs', import.meta.url));

function ensureWatchdog(cacheDir: string, dataDir: string): void {
  const pidFile = join(cacheDir, 'watchdog.pid');
  if (existsSync(pidFile)) {
    const [pid, started] = readFileSync(pidFile, 'utf8').trim().split(' ');
    if (Number(pid) > 0 && isAlive(Number(pid), started)) return;
  }
  const child = spawn(process.execPath, [WATCHDOG, cacheDir, dataDir], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** Builds the cluster object for the shared test server kept in `cacheDir` (a private folder). */
function testCluster(cacheDir: string, runAs: RunAs | undefined, password: string): { cluster: EmbeddedCluster; binaries: PgBinaries } {
  const binaries = locateBinaries(runAs, join(cacheDir, 'bin-cache'));
  const cluster = new EmbeddedCluster({
    binaries,
    dataDir: join(cacheDir, 'data'),
    logFile: join(cacheDir, 'server.log'),
    runAs,
    superuserPassword: password,
    settings: TEST_TUNED_SETTINGS,
  });
  return { cluster, binaries };
}

/**
 * Starts, or joins, the shared embedded PostgreSQL 16 kept in `cacheDir`.
 *
 * Every user holds a lease (`leases/<pid>-<id>`); the last one to
 * release stops it. A detached watchdog stops it when every holder has died
 * without releasing (Ctrl-C, crash, SIGKILL). The data directory stays, so the
 * next run starts warm (~150 ms) and finds its templates.
 */
export async function startEmbedded(cacheDir: string, port: number | undefined, leaseId: string): Promise<StartedServer> {
  try {
    return await startShared(cacheDir, port, leaseId);
  } catch (e) {
    if (e instanceof PortInUseError) throw new FixturePortInUseError(e.port, { cause: e });
    if (e instanceof BinariesUnavailableError) throw new ProviderUnavailableError('embedded', e.message, { cause: e });
    throw e;
  }
}

async function startShared(cacheDir: string, port: number | undefined, leaseId: string): Promise<StartedServer> {
  const t0 = performance.now();
  const runAs = serverRunAs();
  ensurePrivateDir(cacheDir, runAs);
  const leases = new Leases(cacheDir);
  const lockPath = join(cacheDir, 'server');
  let how = 'joined running server';
  let password = '';
  let version = '';
  let lease = '';
  const boundPort = await withFileLock(lockPath, async () => {
    const saved = readSecret(cacheDir);
    password = saved ?? randomBytes(24).toString('base64url');
    let cluster: EmbeddedCluster | undefined;
    try {
      lease = leases.add(leaseId);
      const parts = testCluster(cacheDir, runAs, password);
      cluster = parts.cluster;
      version = parts.binaries.version;
      const running = cluster.runningPort();
      if (running && saved !== undefined) return running;
      if (running) {
        throw new ProviderUnavailableError(
          'embedded',
          `The embedded test server in ${cacheDir} runs, but its superuser password file is missing, so no run can log in. ` +
            'Fix: stop the test runs using it (its watchdog stops it when they end), or delete that folder.',
        );
      }
      // no saved secret means no cluster that anyone can log in to: (re)build it, a cache
      if (!cluster.isInitialized() || saved === undefined) {
        await cluster.initialize();
        how = 'cold start: initdb + start';
      } else {
        how = 'warm start from cached data';
      }
      const p = port ?? (await freePort());
      await cluster.start(p);
      if (saved === undefined) saveSecret(cacheDir, password);
      return p;
    } catch (e) {
      if (lease) leases.remove(lease);
      throw e;
    } finally {
      if (cluster) ensureWatchdog(cacheDir, cluster.dataDir);
    }
  });
  let released = false;
  return {
    provider: 'embedded',
    address: { host: '127.0.0.1', port: boundPort, user: 'postgres', password },
    adminDatabase: 'postgres',
    detail: `${version} via embedded server (${how}, ${Math.round(performance.now() - t0)} ms; data in ${join(cacheDir, 'data')})`,
    release: async () => {
      if (released) return;
      released = true;
      await withFileLock(lockPath, async () => {
        leases.remove(lease);
        if (leases.live().length === 0) await testCluster(cacheDir, runAs, password).cluster.stop();
      });
    },
  };
}
