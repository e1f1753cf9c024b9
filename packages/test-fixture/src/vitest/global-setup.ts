import type { TestProject } from 'vitest/node';
import { startTestServer } from '../server/test-server.js';
import type { TestServerInfo } from '../server/test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL server, provided by `@stellaops/test-fixture/global-setup`. */
    stellaopsPg: TestServerInfo;
  }
}

/**
 * vitest global setup: one PostgreSQL server per test run, shared by every
 * worker through `provide`/`inject`. Add it to a package's vitest config:
 *
 * @example
 * ```ts
 * export default stellaVitestConfig({ test: { globalSetup: ['@stellaops/test-fixture/global-setup'] } });
 * ```
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestServer();
  project.provide('stellaopsPg', server.info);
  const stop = (): void => {
    void server.stop();
  };
  process.once('SIGTERM', stop);
  return async () => {
    process.off('SIGTERM', stop);
    await server.stop();
  };
}
