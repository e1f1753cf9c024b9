// @ts-check
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, mergeConfig } from 'vitest/config';

/** Resolve workspace packages from their TypeScript sources, then Vite's usual server conditions. */
const SOURCE_CONDITIONS = ['@stellaops/source', 'module', 'node', 'development|production'];

/**
 * The shared vitest configuration: resolves workspace packages from source
 * (`@stellaops/source` condition), Node environment, generous timeouts for
 * tests that talk to a real PostgreSQL and, when `STELLAOPS_TEST_REPORT_DIR`
 * is set (as `.ci/run` does), per-package reports under that folder:
 * `vitest/<pkg>.json` (the totals `.ci/run` prints), `junit/<pkg>.xml` and
 * `coverage/<pkg>/` (V8 coverage of the package's own `src/`: lcov, HTML,
 * `coverage-summary.json`). `STELLAOPS_COVERAGE=1` turns coverage on without
 * the other reports (written to the package's `coverage/`).
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
  const pkg = reportName(process.cwd());
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
      reporters: reportDir
        ? [
            'default',
            ['json', { outputFile: join(reportDir, 'vitest', `${pkg}.json`) }],
            ['junit', { outputFile: join(reportDir, 'junit', `${pkg}.xml`), suiteName: pkg }],
          ]
        : ['default'],
      coverage: {
        enabled: reportDir !== undefined || process.env.STELLAOPS_COVERAGE === '1',
        provider: 'v8',
        include: ['src/**/*.ts'],
        exclude: ['src/generated/**', 'src/**/*.d.ts', 'src/**/*.test.ts'],
        reporter: ['json-summary', 'lcovonly', 'html'],
        reportsDirectory: reportDir ? join(reportDir, 'coverage', pkg) : 'coverage',
      },
    },
  });
  const withDb = options.postgres ? mergeConfig(base, { test: { globalSetup: [fixtureGlobalSetup()] } }) : base;
  return mergeConfig(withDb, overrides);
}

/** The package's name as a file name (`@stellaops/migrator` → `stellaops_migrator`). */
function reportName(dir) {
  const file = join(dir, 'package.json');
  const name = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).name : process.env.npm_package_name;
  return String(name ?? 'package')
    .replace(/^@/, '')
    .replace(/[^a-z0-9-]+/gi, '_');
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

/**
 * Decides whether tests that need Debian packages run here. With every
 * package installed: false (run them). With one missing on a developer
 * machine: true (skip), after a warning naming the `apt-get` command. With one
 * missing under CI (`CI` set, as `.ci/run` does): throws, so the test file
 * fails instead of being skipped unseen — CI installs them (scripts/bootstrap.sh).
 *
 * @example
 * const skip = skipUnlessInstalled(findPgBouncer() ? [] : ['pgbouncer'], 'the PgBouncer tests');
 * describe.skipIf(skip)('through PgBouncer', () => { … });
 *
 * @param {readonly string[]} missing the programs or Debian packages that are not installed
 * @param {string} [what] what the tests need them for (in the messages)
 * @returns {boolean} true when the tests should be skipped
 */
export function skipUnlessInstalled(missing, what = 'these tests') {
  if (missing.length === 0) return false;
  const names = [...new Set(missing)].join(', ');
  if (process.env.CI) {
    throw new Error(`CI lacks ${names}, which ${what} need. Fix: install the Debian packages (bash scripts/bootstrap.sh does).`);
  }
  console.warn(`skipping ${what}: ${names} not installed (bash scripts/bootstrap.sh installs the Debian packages)`);
  return true;
}
