export { useTestDatabase, useTestServer } from './use-test-database.js';
export type { TestDatabaseHandle, TestServerHandle, UseTestDatabaseOptions } from './use-test-database.js';
export type { MigrationSet, MigrationTarget } from '../template/migration-set.js';
