import { createHash } from 'node:crypto';
import {
  computeMigrationsHash,
  resolveMigrations,
  SchemaMigrator,
  type Migration,
  type MigrationSet,
  type ResolvedMigration,
} from '@stellaops/migrator';
import {
  appRoleHardeningSql,
  DEFAULT_APP_ROLE,
  installTenantKey,
  SECURITY_SCHEMA,
  securityMigrations,
  TenantKey,
} from '@stellaops/postgres-core';
import type { MigrationTarget, TemplateMigrations } from '@stellaops/test-fixture';
import pg from 'pg';

/** Options of {@link templateMigrations}. */
export interface TemplateMigrationsOptions {
  /**
   * Apply postgres-core's security set first (schema `stellaops_security`,
   * `current_tenant()`), install the fixture's tenant key and harden
   * `stellaops_app` like `stella-db up` does (default true; module migrations
   * with tenant policies need it).
   */
  security?: boolean;
}

/** Version of what the template gets besides migrations (key install, hardening): part of its hash. */
const SECURITY_SETUP_VERSION = 'security-setup-v1';

/**
 * The test fixture's {@link TemplateMigrations} for a module's migration set,
 * so a module's tests get a template database migrated once per set of
 * sources: postgres-core's security migrations, the server's test tenant key
 * and the app role's least-privilege setup first, then the module's
 * migrations. The template is keyed by the combined checksum of both sets.
 *
 * @example
 * ```ts
 * import { templateMigrations } from '@stellaops/module-testkit';
 * import { useTestDatabase } from '@stellaops/test-fixture/vitest';
 * import { migrations } from '../src/index.js';
 *
 * const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
 * ```
 */
export async function templateMigrations(set: MigrationSet, options: TemplateMigrationsOptions = {}): Promise<TemplateMigrations> {
  const resolved = await resolveMigrations(set.migrations);
  const table = set.table ?? '_migrations';
  const security = options.security ?? true;
  const securityResolved = security ? await resolveMigrations(securityMigrations) : [];
  const moduleHash = computeMigrationsHash(set.schema, table, resolved);
  return {
    name: set.schema,
    hash: security
      ? sha256Hex(`${computeMigrationsHash(SECURITY_SCHEMA, '_migrations', securityResolved)}\n${SECURITY_SETUP_VERSION}\n${moduleHash}`)
      : moduleHash,
    migrate: async ({ connectionString, database, tenantKey }) => {
      if (security) {
        await new SchemaMigrator({ connectionString, schema: SECURITY_SCHEMA, migrations: definitionsOf(securityResolved) }).up();
        await prepareSecurity(connectionString, database, tenantKey);
      }
      await new SchemaMigrator({ connectionString, schema: set.schema, table, migrations: definitionsOf(resolved) }).up();
    },
  };
}

/** As the superuser of the template: harden the app role's privileges here and install the test tenant key. */
async function prepareSecurity(connectionString: string, database: string, tenantKey: MigrationTarget['tenantKey']): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    for (const s of appRoleHardeningSql({ database, appRole: DEFAULT_APP_ROLE })) await client.query(s);
    await installTenantKey(client, new TenantKey(tenantKey.tenantKeyId, tenantKey.tenantKey));
  } finally {
    await client.end();
  }
}

/** Resolved migrations back as definitions (sources are read once, when the template's hash is computed). */
function definitionsOf(resolved: readonly ResolvedMigration[]): Migration[] {
  return resolved.map((m) => ({
    id: m.id,
    description: m.description,
    transaction: m.transaction,
    checksum: m.checksum,
    ...(m.lockTimeoutMs !== undefined ? { lockTimeoutMs: m.lockTimeoutMs } : {}),
    up: m.up.kind === 'sql' ? m.up.sql : m.up.fn,
    ...(m.down ? { down: m.down.kind === 'sql' ? m.down.sql : m.down.fn } : {}),
  }));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
