/**
 * `@stellaops/test-fixture`: one PostgreSQL 16 fixture for every package's
 * tests. vitest users want `@stellaops/test-fixture/vitest` and
 * `@stellaops/test-fixture/global-setup`; this entry point holds the parts
 * for other runners, scripts and benchmarks.
 *
 * @packageDocumentation
 */
export { DatabaseFactory, type DatabaseFactoryOptions } from './database-factory.js';
export { PostgresTestFixture, type PostgresTestFixtureOptions } from './postgres-test-fixture.js';
export { TestDatabase } from './test-database.js';
export { withClient } from './with-client.js';
export { fixtureTenantKey, type FixtureTenantKey } from './server/tenant-key.js';
export { startTestServer, TestServer, sweepOrphans, type TestServerInfo } from './server/test-server.js';
export {
  resolveServerOptions,
  defaultCacheDir,
  PROVIDER_CHOICES,
  type ProviderChoice,
  type ProviderName,
  type TestServerOptions,
  type ResolvedServerOptions,
} from './server/options.js';
export { decideProvider, type ProviderDecision } from './providers/select-provider.js';
export { probeDocker } from './providers/docker-probe.js';
export {
  EMPTY_TEMPLATE_MIGRATIONS,
  templateNameOf,
  type TemplateMigrations,
  type MigrationTarget,
} from './template/template-migrations.js';
export type { CloneStrategy } from './template/admin-sql.js';
export { ClonePool, type ClonePoolOptions } from './template/clone-pool.js';
export { freePort } from '@stellaops/embedded-server';
export * from './errors/index.js';
export { ServerStartError } from '@stellaops/embedded-server';
