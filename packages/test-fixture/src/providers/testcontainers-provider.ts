import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { ProviderUnavailableError } from '../errors/index.js';
import type { StartedServer } from './started-server.js';

/**
 * Starts `postgres:16-alpine` (or `image`) with Testcontainers: database
 * `stellaops_test`, user and password `test`, data on tmpfs, test-tuned
 * settings. Ryuk removes the container if this process dies; it honours
 * `TESTCONTAINERS_RYUK_DISABLED` as Testcontainers does.
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
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'])
      .start();
  } catch (cause) {
    throw new ProviderUnavailableError(
      'testcontainers',
      `Testcontainers could not start ${image}: ${(cause as Error).message}. ` +
        'Fix: start a Docker engine (or set DOCKER_HOST), or use STELLAOPS_TEST_PG_PROVIDER=embedded.',
      { cause },
    );
  }
  return {
    provider: 'testcontainers',
    address: { host: container.getHost(), port: container.getPort(), user: 'test', password: 'test' },
    adminDatabase: 'stellaops_test',
    detail: `${image} via Testcontainers (started in ${Math.round(performance.now() - t0)} ms)`,
    release: async () => {
      await container.stop();
    },
  };
}
