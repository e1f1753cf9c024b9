import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BinariesUnavailableError,
  EmbeddedCluster,
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

/** Superuser password of the embedded test server (loopback only, test data only). */
export const EMBEDDED_PASSWORD = 'postgres';

const WATCHDOG = fileURLToPath(new URL('../../bin/watchdog.mjs', import.meta.url));

function ensureWatchdog(cacheDir: string, binaries: PgBinaries, dataDir: string, runAs: RunAs | undefined): void {
  const pidFile = join(cacheDir, 'watchdog.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  }
  const child = spawn(
    process.execPath,
    [WATCHDOG, cacheDir, binaries.pgCtl, dataDir, runAs ? String(runAs.uid) : '-', runAs ? String(runAs.gid) : '-'],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
}

/** Builds the cluster object for the shared test server kept in `cacheDir`. */
export function testCluster(cacheDir: string): { cluster: EmbeddedCluster; binaries: PgBinaries; runAs: RunAs | undefined } {
  const runAs = serverRunAs();
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const binaries = locateBinaries(runAs, join(cacheDir, '..', 'stellaops-pg-binaries'));
  const cluster = new EmbeddedCluster({
    binaries,
    dataDir: join(cacheDir, 'data'),
    logFile: join(cacheDir, 'server.log'),
    runAs,
    superuserPassword: EMBEDDED_PASSWORD,
    settings: TEST_TUNED_SETTINGS,
  });
  return { cluster, binaries, runAs };
}

/**
 * Starts, or joins, the shared embedded PostgreSQL 16 kept in `cacheDir`.
 *
 * Every process that uses it holds a lease (`leases/<pid>`); the last one to
 * release stops it. A detached watchdog stops it when every holder has died
 * without releasing (Ctrl-C, crash, SIGKILL). The data directory stays, so the
 * next run starts warm (~150 ms) and finds its templates.
 */
export async function startEmbedded(cacheDir: string, port: number | undefined): Promise<StartedServer> {
  try {
    return await startShared(cacheDir, port);
  } catch (e) {
    if (e instanceof ServerPortInUseError) throw new PortInUseError(e.port, { cause: e });
    if (e instanceof BinariesUnavailableError) throw new ProviderUnavailableError('embedded', e.message, { cause: e });
    throw e;
  }
}

async function startShared(cacheDir: string, port: number | undefined): Promise<StartedServer> {
  const t0 = performance.now();
  const { cluster, binaries, runAs } = testCluster(cacheDir);
  const leases = new Leases(cacheDir);
  const lockPath = join(cacheDir, 'server');
  let how = 'joined running server';
  const boundPort = await withFileLock(lockPath, async () => {
    leases.add(process.pid);
    try {
      const running = cluster.runningPort();
      if (running) return running;
      if (!cluster.isInitialized()) {
        await cluster.initialize();
        how = 'cold start: initdb + start';
      } else {
        how = 'warm start from cached data';
      }
      const p = port ?? (await freePort());
      await cluster.start(p);
      return p;
    } catch (e) {
      leases.remove(process.pid);
      throw e;
    } finally {
      ensureWatchdog(cacheDir, binaries, cluster.dataDir, runAs);
    }
  });
  let released = false;
  return {
    provider: 'embedded',
    address: { host: '127.0.0.1', port: boundPort, user: 'postgres', password: EMBEDDED_PASSWORD },
    adminDatabase: 'postgres',
    detail: `${binaries.version} via embedded server (${how}, ${Math.round(performance.now() - t0)} ms; data in ${cluster.dataDir})`,
    release: async () => {
      if (released) return;
      released = true;
      await withFileLock(lockPath, async () => {
        leases.remove(process.pid);
        if (leases.live().length === 0) await cluster.stop();
      });
    },
  };
}
