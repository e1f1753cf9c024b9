import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { ProviderUnavailableError } from '../errors/index.js';
import type { StartedServer } from './started-server.js';

/**
 * Starts `postgres:16-alpine` (or `image`) with Testcontainers: database
 * `stellaops_test`, user and password `test`, data on tmpfs, test-tuned
 * settings. Ryuk removes the container if this process dies; with
 * `TESTCONTAINERS_RYUK_DISABLED=true` (CI) a detached watchdog does instead
 * ({@link removeWhenOwnerGone}).
 */
export async function startTestcontainers(image: string): Promise<StartedServer> {
  const t0 = performance.now();
  let container: StartedPostgreSqlContainer;
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    container = await new PostgreSqlContainer(image)
      .withDatabase('stellaops_test')
      .withUsername('test')
      .withPassword('test')
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      .withCommand([
        'postgres',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
      ])
      .start();
  } catch (cause) {
    throw new ProviderUnavailableError(
      'testcontainers',
      `Testcontainers could not start ${image}: ${(cause as Error).message}. ` +
        'Fix: start a Docker engine (or set DOCKER_HOST), or use STELLAOPS_TEST_PG_PROVIDER=embedded.',
      { cause },
    );
  }
  const released = removeWhenOwnerGone(container.getId());
  return {
    provider: 'testcontainers',
    address: { host: container.getHost(), port: container.getPort(), user: 'test', password: 'test' },
    adminDatabase: 'stellaops_test',
    detail: `${image} via Testcontainers (started in ${Math.round(performance.now() - t0)} ms)`,
    release: async () => {
      try {
        await container.stop();
      } finally {
        released();
      }
    },
  };
}

const WATCHDOG = fileURLToPath(new URL('../../bin/container-watchdog.mjs', import.meta.url));

/**
 * With Ryuk off nothing removes the container when this process dies without
 * stopping it (vitest exits 1 ms after Ctrl-C, too soon for an async stop).
 * Starts `bin/container-watchdog.mjs` detached, holding a pipe to it: the
 * kernel closes the pipe however this process ends, and the watchdog then
 * removes the container. Returns what to call after a normal stop (tells the
 * watchdog to exit without touching Docker). Does nothing while Ryuk is on.
 */
export function removeWhenOwnerGone(containerId: string, env: NodeJS.ProcessEnv = process.env): () => void {
  if (env.TESTCONTAINERS_RYUK_DISABLED !== 'true') return () => undefined;
  const child = spawn(process.execPath, [WATCHDOG, containerId], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env });
  child.unref();
  (child.stdin as Socket).unref(); // the pipe must not keep this process alive
  return () => {
    child.stdin.end('released\n');
  };
}
