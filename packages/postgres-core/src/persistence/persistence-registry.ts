import { createDataSource, type CreateDataSourceSettings, type PostgresDataSource } from '../data-source/data-source.js';
import { defaultPoolRegistry, type PoolRegistry } from '../data-source/pool-handle.js';
import { ModuleBackendMismatchError } from '../errors/usage-errors.js';
import { PERSISTENCE_MODULES, type PersistenceBackend, type PersistenceModule, type PersistenceOptions } from './persistence-options.js';

/**
 * Answers "what backs module X?" and hands out the Postgres data source of
 * Postgres-backed modules (the seed's `ServiceCollectionExtensions`). Every
 * module's data source shares the process-wide pool for the server.
 *
 * @example
 * ```ts
 * const persistence = new PersistenceRegistry(loadPersistenceOptions());
 * if (persistence.resolveModuleBackend('Notify') === 'Postgres') {
 *   const ds = persistence.getPostgresDataSource<NotifyDb>('Notify');
 * }
 * await persistence.close();
 * ```
 */
export class PersistenceRegistry implements AsyncDisposable {
  /** The validated options. */
  readonly options: PersistenceOptions;
  readonly #pools: PoolRegistry;
  readonly #dataSources = new Map<string, PostgresDataSource<unknown>>();

  /**
   * @param options validated persistence options (see {@link loadPersistenceOptions})
   * @param pools pool registry (default: process-wide)
   */
  constructor(options: PersistenceOptions, pools: PoolRegistry = defaultPoolRegistry) {
    this.options = options;
    this.#pools = pools;
  }

  /**
   * The backend configured for `module`.
   *
   * @throws {@link ModuleBackendMismatchError} for an unknown module name
   */
  resolveModuleBackend(module: PersistenceModule): PersistenceBackend {
    if (!(PERSISTENCE_MODULES as readonly string[]).includes(module)) throw new ModuleBackendMismatchError(module, undefined, 'Postgres');
    return this.options.persistence[module];
  }

  /**
   * The module's Postgres data source (created once, then reused).
   *
   * @throws {@link ModuleBackendMismatchError} when the module is configured for Mongo
   */
  getPostgresDataSource<DB>(
    module: PersistenceModule,
    settings: Omit<CreateDataSourceSettings, 'module' | 'registry'> = {},
  ): PostgresDataSource<DB> {
    const backend = this.resolveModuleBackend(module);
    if (backend !== 'Postgres' || !this.options.postgres) throw new ModuleBackendMismatchError(module, backend, 'Postgres');
    let ds = this.#dataSources.get(module);
    if (!ds) {
      ds = createDataSource<unknown>(this.options.postgres, { ...settings, module, registry: this.#pools });
      this.#dataSources.set(module, ds);
    }
    return ds as PostgresDataSource<DB>;
  }

  /** Closes every data source handed out (the shared pool ends with the last one). */
  async close(): Promise<void> {
    const all = [...this.#dataSources.values()];
    this.#dataSources.clear();
    await Promise.all(all.map((d) => d.close()));
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
