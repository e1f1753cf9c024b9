import { PostgresCoreError } from './postgres-core-error.js';

/**
 * A tenant id was rejected before reaching the database (empty, too long,
 * characters outside `[A-Za-z0-9._-]`, not starting with a letter or digit).
 * The message never echoes the rejected value.
 */
export class InvalidTenantIdError extends PostgresCoreError {
  /** @param reason why the id was rejected */
  constructor(reason: string) {
    super('INVALID_TENANT_ID', `Invalid tenant id: ${reason}`);
  }
}

/** An SQL identifier (schema, table, role, column…) was rejected by {@link quoteIdentifier}. */
export class InvalidIdentifierError extends PostgresCoreError {
  /** @param reason why the identifier was rejected */
  constructor(reason: string) {
    super('INVALID_IDENTIFIER', `Invalid SQL identifier: ${reason}`);
  }
}

/**
 * A module asked for its Postgres data source but is configured for another
 * backend (e.g. `Persistence__Notify=Mongo`), or an unknown module was named.
 */
export class ModuleBackendMismatchError extends PostgresCoreError {
  /** The module asked about. */
  readonly module: string;
  /** Its configured backend. */
  readonly configured: string | undefined;

  /**
   * @param module the module
   * @param configured its configured backend (undefined when the module is unknown)
   * @param requested the backend asked for
   */
  constructor(module: string, configured: string | undefined, requested: string) {
    super(
      'MODULE_BACKEND_MISMATCH',
      configured === undefined
        ? `Unknown persistence module "${module}"`
        : `Module ${module} is configured for ${configured} (Persistence__${module}=${configured}), not ${requested}`,
    );
    this.module = module;
    this.configured = configured;
  }
}

/** The operation is not supported by this data source (e.g. streaming through a scoped connection). */
export class UnsupportedOperationError extends PostgresCoreError {
  /** @param message what is not supported */
  constructor(message: string) {
    super('UNSUPPORTED_OPERATION', message);
  }
}

/** The data source was used after `close()`. */
export class DataSourceClosedError extends PostgresCoreError {
  constructor() {
    super('DATA_SOURCE_CLOSED', 'The data source has been closed');
  }
}

/**
 * A tenant-scoped unit (`forTenant`, `withTenant`, `batchWithTenant`) was
 * asked of a data source whose options have no tenant key: without the key it
 * cannot prove the tenant, and the database would show no rows.
 */
export class TenantKeyMissingError extends PostgresCoreError {
  /** @param module the data source's module, when known */
  constructor(module?: string) {
    super(
      'TENANT_KEY_MISSING',
      `${module ? `${module}: ` : ''}tenant-scoped queries need the tenant key. Fix: set Postgres__TenantKey (and Postgres__TenantKeyId when not "k1") ` +
        'or options.tenantKey; locally "stella-db url --tenant-key" prints the key "stella-db up" installed.',
    );
  }
}
