// @ts-check
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
 * export default stellaVitestConfig({ test: { globalSetup: ['@stellaops/test-fixture/global-setup'] } });
 *
 * @param {import('vitest/config').ViteUserConfig} [overrides] package-specific settings
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function stellaVitestConfig(overrides = {}) {
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
  return mergeConfig(base, overrides);
}
