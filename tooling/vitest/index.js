// @ts-check
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, mergeConfig } from 'vitest/config';

/** Resolve workspace packages from their TypeScript sources, then Vite's usual server conditions. */
const SOURCE_CONDITIONS = ['@stellaops/source', 'module', 'node', 'development|production'];

/**
 * The shared vitest configuration: resolves workspace packages from source
 * (`@stellaops/source` condition), Node environment, generous timeouts for
 * tests that talk to a real PostgreSQL, and a JSON report that `.ci/run` reads.
 *
 * @example
 * // vitest.config.ts of a package
 * import { stellaVitestConfig } from '@stellaops/vitest-config';
 * export default stellaVitestConfig({}, { postgres: true });
 *
 * @param {import('vitest/config').ViteUserConfig} [overrides] package-specific settings
 * @param {{ postgres?: boolean }} [options] `postgres: true` adds the shared PostgreSQL fixture's global setup
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function stellaVitestConfig(overrides = {}, options = {}) {
  const reportDir = process.env.STELLAOPS_TEST_REPORT_DIR;
  const pkgName = process.env.npm_package_name?.replace(/[^a-z0-9-]+/gi, '_') ?? 'package';
  const base = defineConfig({
    resolve: { conditions: SOURCE_CONDITIONS },
    ssr: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: SOURCE_CONDITIONS } },
    // vitest loads global setup files in its own `__vitest__` environment
    environments: { __vitest__: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: SOURCE_CONDITIONS } } },
    test: {
      environment: 'node',
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      teardownTimeout: 60_000,
      reporters: reportDir ? ['default', ['json', { outputFile: `${reportDir}/${pkgName}.json` }]] : ['default'],
    },
  });
  const withDb = options.postgres ? mergeConfig(base, { test: { globalSetup: [fixtureGlobalSetup()] } }) : base;
  return mergeConfig(withDb, overrides);
}

/**
 * Path of `@stellaops/test-fixture`'s global setup as seen from the package
 * being tested (vitest 4 takes globalSetup entries as file paths, not package
 * specifiers). The package must depend on `@stellaops/test-fixture`.
 */
function fixtureGlobalSetup() {
  const link = join(process.cwd(), 'node_modules', '@stellaops', 'test-fixture');
  if (!existsSync(link)) {
    throw new Error(`stellaVitestConfig({ postgres: true }) needs "@stellaops/test-fixture" as a devDependency of ${process.cwd()}`);
  }
  const dir = realpathSync(link);
  const source = join(dir, 'src', 'vitest', 'global-setup.ts');
  return existsSync(source) ? source : join(dir, 'dist', 'vitest', 'global-setup.js');
}
