/**
 * vitest helpers: {@link useTestDatabase} (a database per test or per file),
 * {@link databaseTest} (a `test` with a `db` fixture, safe for concurrent
 * tests) and {@link useTestServer}. Pair them with the global setup
 * `@stellaops/test-fixture/global-setup`.
 *
 * @packageDocumentation
 */
export { useTestDatabase, useTestServer } from './use-test-database.js';
export type { TestDatabaseHandle, TestServerHandle, UseTestDatabaseOptions } from './use-test-database.js';
export { databaseTest } from './database-test.js';
export type { TemplateMigrations, MigrationTarget } from '../template/template-migrations.js';
export { TestDatabase } from '../test-database.js';
export { withClient } from '../with-client.js';
