import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BinariesUnavailableError,
  EmbeddedCluster,
  ensurePrivateDir,
  freePort,
  locateBinaries,
  PortInUseError as ServerPortInUseError,
  serverRunAs,
  TEST_TUNED_SETTINGS,
  withFileLock,
  type PgBinaries,
  type RunAs,
} from '@stellaops/embedded-server';
import { PortInUseError, ProviderUnavailableError } from '../errors/index.js';
import { isAlive, Leases } from '../embedded/leases.js';
import type { StartedServer } from './started-server.js';

/**
 * The test server's superuser password: random per cache folder, kept in
 * `<cacheDir>/superuser.secret` (0600) so later runs reuse the cluster. A
 * fixed password would let any local user log in as superuser over TCP.
 */
function superuserSecret(cacheDir: string): { password: string; fresh: boolean } {
  const file = join(cacheDir, 'superuser.secret');
  if (existsSync(file)) return { password: readFileSync(file, 'utf8').trim(), fresh: false };
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, password, { mode: 0o600, flag: 'wx' });
  return { password, fresh: true };
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
    if (e instanceof ServerPortInUseError) throw new PortInUseError(e.port, { cause: e });
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
    lease = leases.add(leaseId);
    const secret = superuserSecret(cacheDir);
    password = secret.password;
    const { cluster, binaries } = testCluster(cacheDir, runAs, password);
    version = binaries.version;
    try {
      const running = cluster.runningPort();
      if (running && !secret.fresh) return running;
      // a cluster from before its password was kept is a cache: rebuild it
      if (secret.fresh && cluster.runningPid()) await cluster.stop();
      if (!cluster.isInitialized() || secret.fresh) {
        await cluster.initialize();
        how = 'cold start: initdb + start';
      } else {
        how = 'warm start from cached data';
      }
      const p = port ?? (await freePort());
      await cluster.start(p);
      return p;
    } catch (e) {
      leases.remove(lease);
      throw e;
    } finally {
      ensureWatchdog(cacheDir, cluster.dataDir);
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
