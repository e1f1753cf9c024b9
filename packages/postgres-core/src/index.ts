/**
 * `@stellaops/postgres-core`: PostgreSQL options, Kysely data source, tenant
 * sessions, typed errors, retries, health and metrics for StellaOps modules.
 *
 * @packageDocumentation
 */
export { PostgresCoreError } from './errors/postgres-core-error.js';
export { ConfigurationError, InvalidConnectionStringError, type ConfigProblem } from './errors/configuration-error.js';
export {
  SSL_MODES,
  type SslMode,
  type ConnectionSettings,
  isConnectionUrl,
  parseConnectionString,
  formatConnectionUrl,
  normalizeConnectionString,
  redactConnectionString,
} from './options/connection-string.js';
