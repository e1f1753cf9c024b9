import type { TestProject } from 'vitest/node';
import { startTestServer } from '../server/test-server.js';
// the `stellaopsPg` ProvidedContext key is declared next to inject() in use-test-database.ts
import type {} from './use-test-database.js';

/**
 * vitest global setup: one PostgreSQL server per test run, shared by every
 * worker through `provide`/`inject`. Add it to a package's vitest config:
 *
 * @example
 * ```ts
 * export default stellaVitestConfig({}, { postgres: true }); // adds this file as globalSetup
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
