import { computeMigrationsHash, resolveMigrations, SchemaMigrator, type Migration, type MigrationSet } from '@stellaops/migrator';
import type { TemplateMigrations } from '@stellaops/test-fixture';

/**
 * The test fixture's template input for a module's migration set: named after
 * the schema, keyed by the checksum of every migration, and migrated by the
 * migrator, so a module's tests get a template database migrated once per set
 * of sources. The migrations are resolved once; `migrate` applies exactly
 * those (the hash and the template cannot disagree).
 *
 * @example
 * ```ts
 * import { templateMigrations } from '@stellaops/module-testkit';
 * import { migrations } from '../src/index.js';
 * const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
 * ```
 */
export async function templateMigrations(set: MigrationSet): Promise<TemplateMigrations> {
  const resolved = await resolveMigrations(set.migrations);
  const table = set.table ?? '_migrations';
  const frozen: Migration[] = resolved.map((m) => ({
    id: m.id,
    description: m.description,
    transaction: m.transaction,
    checksum: m.checksum,
    ...(m.lockTimeoutMs !== undefined ? { lockTimeoutMs: m.lockTimeoutMs } : {}),
    up: m.up.kind === 'sql' ? m.up.sql : m.up.fn,
    ...(m.down ? { down: m.down.kind === 'sql' ? m.down.sql : m.down.fn } : {}),
  }));
  return {
    name: set.schema,
    hash: computeMigrationsHash(set.schema, table, resolved),
    migrate: async ({ connectionString }) => {
      await new SchemaMigrator({ connectionString, schema: set.schema, table, migrations: frozen }).up();
    },
  };
}
