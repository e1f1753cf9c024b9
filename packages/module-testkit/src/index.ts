/**
 * `@stellaops/module-testkit`: vitest suites every module package runs
 * against its own migrations, so each new module gets the same guarantees
 * with a few lines of test code.
 *
 * @packageDocumentation
 */
export { ownerMigrationSuite, type OwnerMigrationSuiteOptions } from './owner-migration-suite.js';
