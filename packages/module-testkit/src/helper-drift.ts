import { resolveMigrations, type MigrationSet } from '@stellaops/migrator';
import type * as PostgresCore from '@stellaops/postgres-core';
import { vi } from 'vitest';

/** Appended to every SQL text the altered helpers return. */
export const ALTERED_HELPER_MARK = '-- altered by module-testkit';

/**
 * Resolves a module's migrations again while postgres-core's SQL helpers
 * (`tenantIsolationSql`, `appRoleGrantsSql`, `createRoleIfMissingSql`) return
 * different, equivalent text — as an innocent helper edit would — and
 * returns each migration's checksum. A frozen migration keeps its checksum;
 * one built from a helper at run time does not.
 *
 * `load` must import the module afresh, e.g. `() => import('../src/index.js')`
 * (the module registry is reset first, so the import sees the altered helpers).
 * Throws if the altered helpers did not take effect.
 *
 * @example
 * const changed = await checksumsWithAlteredHelpers(() => import('../src/index.js'));
 */
export async function checksumsWithAlteredHelpers(load: () => Promise<{ migrations: MigrationSet }>): Promise<Map<string, string>> {
  vi.resetModules();
  vi.doMock('@stellaops/postgres-core', async (importOriginal) => {
    const real = await importOriginal<typeof PostgresCore>();
    return {
      ...real,
      tenantIsolationSql: (args: Parameters<typeof real.tenantIsolationSql>[0]) =>
        real.tenantIsolationSql(args).map((s) => s.replace(' for all using ', ' for all to public using ') + ` ${ALTERED_HELPER_MARK}`),
      appRoleGrantsSql: (args: Parameters<typeof real.appRoleGrantsSql>[0]) =>
        real.appRoleGrantsSql(args).map((s) => `${s} ${ALTERED_HELPER_MARK}`),
      createRoleIfMissingSql: (role: string) => `${real.createRoleIfMissingSql(role)}\n${ALTERED_HELPER_MARK}`,
    };
  });
  try {
    const core = await import('@stellaops/postgres-core');
    if (!core.createRoleIfMissingSql('stellaops_x').endsWith(ALTERED_HELPER_MARK)) {
      throw new Error('module-testkit could not alter @stellaops/postgres-core (vi.doMock had no effect)');
    }
    const { migrations } = await load();
    const resolved = await resolveMigrations(migrations.migrations);
    return new Map(resolved.map((m) => [m.id, m.checksum]));
  } finally {
    vi.doUnmock('@stellaops/postgres-core');
    vi.resetModules();
  }
}
