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
export {
  DatabaseError,
  IntegrityConstraintViolationError,
  UniqueViolationError,
  ForeignKeyViolationError,
  CheckViolationError,
  NotNullViolationError,
  TransactionRollbackError,
  SerializationFailureError,
  DeadlockDetectedError,
  QueryCanceledError,
  StatementTimeoutError,
  ConnectionLostError,
  PoolTimeoutError,
  TransactionRolledBackError,
  TooManyParametersError,
  PreparedStatementLostError,
  type DatabaseErrorFields,
} from './errors/database-errors.js';
export { mapDatabaseError, isRetryableError } from './errors/map-database-error.js';
export {
  InvalidTenantIdError,
  InvalidIdentifierError,
  ModuleBackendMismatchError,
  UnsupportedOperationError,
  DataSourceClosedError,
  TenantKeyMissingError,
} from './errors/usage-errors.js';
export {
  PostgresOptionsSchema,
  parsePostgresOptions,
  POOLER_MODES,
  type PoolerMode,
  type PostgresOptions,
  type PostgresOptionsInput,
} from './options/postgres-options.js';
export {
  PERSISTENCE_MODULES,
  PERSISTENCE_BACKENDS,
  PersistenceOptionsSchema,
  type PersistenceModule,
  type PersistenceBackend,
  type PersistenceOptions,
  type PersistenceOptionsInput,
} from './persistence/persistence-options.js';
export {
  loadPersistenceOptions,
  parsePersistenceOptions,
  type LoadPersistenceOptionsArgs,
} from './persistence/load-persistence-options.js';
export { quoteIdentifier, quoteQualifiedName, IDENTIFIER_PATTERN } from './sql/identifier.js';
export { validateTenantId, TENANT_ID_PATTERN, TENANT_ID_MAX_LENGTH } from './tenant/tenant-id.js';
export {
  tenantIsolationSql,
  tenantTagRotationSql,
  appRoleGrantsSql,
  createRoleIfMissingSql,
  DEFAULT_APP_ROLE,
  ensureAppRole,
  checkAppRole,
  appRoleHardeningSql,
  DYNAMIC_SQL_FUNCTIONS,
  type AppRoleHardeningArgs,
  type TenantIsolationArgs,
  type TenantColumnType,
  type AppRoleGrantsArgs,
  type Queryable,
} from './tenant/rls-sql.js';
export { TENANT_SETTING, TENANT_PROOF_SETTING } from './data-source/session-scope.js';
export { TenantKey, TENANT_KEY_ID_PATTERN, TENANT_KEY_MIN_LENGTH } from './tenant/tenant-key.js';
export {
  installTenantKey,
  removeTenantKey,
  listTenantKeyIds,
  retagTenantRows,
  retireTenantKey,
  TenantKeyConflictError,
  type RetireTenantKeyOptions,
  type RetireResult,
  type RetagProgress,
  type RetagBatchProgress,
  type RetagTenantRowsOptions,
} from './tenant/tenant-keys.js';
export {
  SECURITY_SCHEMA,
  CURRENT_TENANT_FUNCTION,
  SESSION_TAG_FUNCTION,
  PREVIOUS_SESSION_TAG_FUNCTION,
  SESSION_TAG_SQL,
  PREVIOUS_SESSION_TAG_SQL,
  TENANT_TAG_COLUMN,
  securityMigrations,
  type SecurityMigration,
} from './tenant/security-migrations.js';
export {
  createDataSource,
  PostgresDataSource,
  DataSourceBuilder,
  type CreateDataSourceSettings,
  type TenantTransactionSettings,
} from './data-source/data-source.js';
export {
  PoolRegistry,
  SharedPool,
  defaultPoolRegistry,
  buildPoolConfig,
  type PoolInstrumentation,
  type DataLayerLogger,
} from './data-source/pool-handle.js';
export { withRetry, backoffDelayMs, isSerializationOrDeadlock, type RetryOptions } from './retry/with-retry.js';
export { checkHealth, type HealthCheckResult, type HealthTarget } from './health/health-check.js';
export { registerPoolMetrics, type PoolMetrics, type PoolMetricsOptions } from './metrics/pool-metrics.js';
export { PersistenceRegistry } from './persistence/persistence-registry.js';
export { qualifiedColumns } from './sql/qualified-columns.js';
