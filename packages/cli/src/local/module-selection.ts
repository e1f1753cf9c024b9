import { ConfigurationError, loadPersistenceOptions, PERSISTENCE_MODULES, type PersistenceOptions } from '@stellaops/postgres-core';

/** One module's row in `stella-db up`/`status`: its configured backend and whether a package exists. */
export interface SelectedModule {
  /** Module name as configured (`Authority`). */
  module: string;
  /** Package short name (`authority`), when a module package exists. */
  packageName?: string;
  backend: 'Mongo' | 'Postgres';
}

/**
 * Reads `PersistenceOptions` (defaults < appsettings.json < appsettings.{Env}.json
 * < `Persistence__X` variables) from `configDir`. A missing `Postgres` section
 * is fine here (`stella-db up` supplies the local server), any other problem is not.
 */
export function loadPersistence(
  configDir: string,
  env: Readonly<Record<string, string | undefined>>,
  localUrl: string | undefined,
): PersistenceOptions {
  const args = { configDir, env: { ...env } };
  try {
    return loadPersistenceOptions(args);
  } catch (error) {
    const onlyPostgresMissing =
      error instanceof ConfigurationError &&
      error.problems.length > 0 &&
      error.problems.every((p) => p.path.toLowerCase().startsWith('postgres'));
    if (!onlyPostgresMissing || localUrl === undefined) throw error;
    return loadPersistenceOptions({ ...args, overrides: { postgres: { connectionString: localUrl } } });
  }
}

/** Every configured module with its backend (`all`: every module on Postgres), matched to workspace packages. */
export function selectModules(options: PersistenceOptions, packages: readonly string[], all: boolean): SelectedModule[] {
  return PERSISTENCE_MODULES.map((module) => {
    const pkg = packages.find((p) => p.toLowerCase() === module.toLowerCase());
    const backend = all ? 'Postgres' : options.persistence[module];
    return { module, ...(pkg ? { packageName: pkg } : {}), backend };
  });
}
