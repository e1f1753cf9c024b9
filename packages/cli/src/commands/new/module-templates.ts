/**
 * The files of a new module package, as text. Everything a module needs to
 * work on day one and nothing it does not: the shapes are those of
 * `packages/modules/authority` and `packages/modules/notify`.
 */

/** What the templates need to know about the module being generated. */
export interface ModuleSpec {
  /** Short name and schema, e.g. `scheduler`. */
  name: string;
  /** The name in PersistenceOptions and prose, e.g. `Scheduler`. */
  title: string;
  /** The first table, e.g. `schedules`. */
  table: string;
  /** The row type kysely-codegen's aliases give that table, e.g. `Schedule`. */
  row: string;
  /** Kebab-case of the row type, e.g. `schedule`. */
  rowFile: string;
  /** The first migration's id, e.g. `V001_Schedules`. */
  migrationId: string;
  /** The first migration's file name without extension, e.g. `v001-schedules`. */
  migrationFile: string;
  /** The first migration's exported constant, e.g. `v001Schedules`. */
  migrationConst: string;
  /** The first migration's SQL, produced once, at generation time. */
  v001: { description: string; up: string; down: string };
  /** Version specifiers for the package's dependencies (`catalog:` or ranges). */
  versions: Readonly<Record<string, string>>;
}

/** External packages every module depends on (versions come from the catalog or the other modules). */
export const MODULE_DEPENDENCIES = ['kysely'] as const;
/** External dev packages every module depends on. */
export const MODULE_DEV_DEPENDENCIES = ['@types/node', '@types/pg', 'pg', 'tsx', 'typescript', 'vite', 'vitest'] as const;

const WORKSPACE_DEPENDENCIES = ['@stellaops/migrator', '@stellaops/postgres-core'];
const WORKSPACE_DEV_DEPENDENCIES = [
  '@stellaops/cli',
  '@stellaops/eslint-config',
  '@stellaops/module-testkit',
  '@stellaops/test-fixture',
  '@stellaops/tsconfig',
  '@stellaops/vitest-config',
];

/** Text safe inside a template literal of generated code. */
export function asTemplateLiteral(text: string): string {
  return `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;
}

function sortedDeps(
  workspace: readonly string[],
  external: readonly string[],
  versions: Readonly<Record<string, string>>,
): Record<string, string> {
  const entries: Array<[string, string]> = [
    ...workspace.map((d): [string, string] => [d, 'workspace:*']),
    ...external.map((d): [string, string] => [d, versions[d]!]),
  ];
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

/** Every file of the new package, by path relative to `packages/modules/<name>` (the generated types come from codegen). */
export function moduleFiles(s: ModuleSpec): Record<string, string> {
  const constName = `${s.name.toUpperCase()}_SCHEMA`;
  return {
    'package.json': `${JSON.stringify(
      {
        name: `@stellaops/module-${s.name}`,
        version: '0.1.0',
        private: true,
        description: `StellaOps ${s.title} on PostgreSQL (schema ${s.name}, RLS per tenant).`,
        type: 'module',
        exports: { '.': { '@stellaops/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
        files: ['dist'],
        scripts: {
          build: 'tsc -p tsconfig.build.json',
          typecheck: 'tsc -p tsconfig.json',
          lint: 'eslint .',
          test: 'vitest run',
          codegen: `STELLA_DB_FROM_SOURCE=1 stella-db codegen --module ${s.name}`,
        },
        dependencies: sortedDeps(WORKSPACE_DEPENDENCIES, MODULE_DEPENDENCIES, s.versions),
        devDependencies: sortedDeps(WORKSPACE_DEV_DEPENDENCIES, MODULE_DEV_DEPENDENCIES, s.versions),
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `{\n  "extends": "@stellaops/tsconfig/base.json",\n  "include": ["src", "test", "*.ts"]\n}\n`,
    'tsconfig.build.json': `{\n  "extends": "@stellaops/tsconfig/build.json",\n  "include": ["src"],\n  "exclude": ["src/**/*.test.ts"]\n}\n`,
    'eslint.config.js': `import { stellaEslintConfig } from '@stellaops/eslint-config';\n\nexport default stellaEslintConfig();\n`,
    'vitest.config.ts': `import { stellaVitestConfig } from '@stellaops/vitest-config';\n\nexport default stellaVitestConfig({}, { postgres: true });\n`,
    'src/index.ts': `/**
 * \`@stellaops/module-${s.name}\`: ${s.title}'s PostgreSQL schema (\`${s.name}\`), its
 * migrations, typed repositories and generated types. Repositories take a
 * tenant-bound \`Kysely<DB>\` from postgres-core (\`ds.forTenant(id)\` or a
 * \`withTenant\` transaction); row level security keeps every tenant to its own rows.
 *
 * @packageDocumentation
 */
export { migrations } from './migrations/migration-set.js';
export { APP_ROLE, ${constName}, REQUIRED_ROLES } from './database/roles.js';
export { ${s.row}Repository, type Create${s.row}Input } from './${s.table.replace(/_/g, '-')}/${s.rowFile}-repository.js';
export type * from './generated/db.js';
`,
    'src/database/roles.ts': `import { DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the ${s.title} service connects as: a plain \`NOSUPERUSER
 * NOBYPASSRLS\` role that owns nothing, so row level security always applies
 * to it. Shared by every StellaOps module (\`stellaops_app\`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The database roles ${s.title}'s migrations grant to: \`stella-db up\` (and
 * deployments) create them with \`LOGIN\` before migrating as a role without
 * \`CREATEROLE\`. Add a module role here when a migration grants to one.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE];

/** The schema holding ${s.title}'s tables. */
export const ${constName} = '${s.name}';
`,
    'src/migrations/migration-set.ts': `import { defineMigrationSet } from '@stellaops/migrator';
import { ${constName} } from '../database/roles.js';
import { ${s.migrationConst} } from './${s.migrationFile}.js';

/**
 * ${s.title}'s migration set (schema \`${s.name}\`, tracking table \`${s.name}._migrations\`),
 * as \`stella-db migrate --module ${s.name}\`, \`stella-db up\` and the test fixture
 * (\`templateMigrations(migrations)\`) expect it. Append new migrations here.
 */
export const migrations = defineMigrationSet({
  schema: ${constName},
  migrations: [${s.migrationConst}],
});
`,
    [`src/migrations/${s.migrationFile}.ts`]: `import { defineMigration } from '@stellaops/migrator';

/**
 * ${s.migrationId}: ${s.v001.description}. Written by \`stella-db new module ${s.name}\`
 * from postgres-core's SQL helpers at generation time.
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * \`migrations.lock.json\`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const ${s.migrationConst} = defineMigration({
  id: '${s.migrationId}',
  description: '${s.v001.description}',
  up: ${asTemplateLiteral(s.v001.up)},
  down: ${asTemplateLiteral(s.v001.down)},
});
`,
    [`src/${s.table.replace(/_/g, '-')}/${s.rowFile}-repository.ts`]: `import { sql, type Kysely } from 'kysely';
import type { ${s.row}, DB } from '../generated/db.js';

/** What {@link ${s.row}Repository.create} takes. */
export interface Create${s.row}Input {
  /** Name, unique per tenant regardless of case (1-200 characters). */
  name: string;
}

/**
 * The session tenant's rows of \`${s.name}.${s.table}\`.
 *
 * @example
 * \`\`\`ts
 * const row = await new ${s.row}Repository(ds.forTenant('acme')).create({ name: 'first' });
 * \`\`\`
 */
export class ${s.row}Repository {
  readonly #db: Kysely<DB>;

  /** @param db a tenant-bound Kysely (or transaction) over ${s.title}'s \`DB\` */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Creates a row in the session tenant.
   *
   * @throws \`UniqueViolationError\` (constraint \`${s.table}_tenant_name_key\`) when the name exists in any case
   */
  async create(input: Create${s.row}Input): Promise<${s.row}> {
    return this.#db.insertInto('${s.name}.${s.table}').values({ name: input.name }).returningAll().executeTakeFirstOrThrow();
  }

  /** The row with this id, if the session tenant has it. */
  async findById(id: string): Promise<${s.row} | undefined> {
    return this.#db.selectFrom('${s.name}.${s.table}').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** All rows of the session tenant, by name. */
  async list(): Promise<${s.row}[]> {
    return this.#db.selectFrom('${s.name}.${s.table}').selectAll().orderBy('name').orderBy('id').execute();
  }

  /** Renames a row; returns it, or \`undefined\` when the session tenant has no such row. */
  async rename(id: string, name: string): Promise<${s.row} | undefined> {
    return this.#db
      .updateTable('${s.name}.${s.table}')
      .set({ name, updated_at: sql<Date>\`now()\` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** Deletes a row; true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('${s.name}.${s.table}').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
`,
    'test/migration-pins.test.ts': `import { migrationPinSuite } from '@stellaops/module-testkit';

// Applied migrations are frozen: their checksums are pinned in migrations.lock.json, and no helper edit may change them.
migrationPinSuite({ load: () => import('../src/index.js'), lockFile: new URL('../migrations.lock.json', import.meta.url) });
`,
    'test/owner-migration.test.ts': `import { ownerMigrationSuite } from '@stellaops/module-testkit';
import { migrations, REQUIRED_ROLES } from '../src/index.js';

// The production path: migrations run as an owner role that is neither superuser nor CREATEROLE
// (like stella-db up's stellaops_owner), after the module's roles were created.
//
// A tenant row written without a tag is tagged by the table's fill trigger with the newest installed tenant key.
// This suite installs none (stella-db up and the test fixture's templates do), so the superuser's seed installs a
// throwaway key first (the HMAC pads of an all-zero key; kept if one of that id exists), then inserts without a tag.
const SEED_KEY =
  "insert into stellaops_security.tenant_keys (key_id, inner_pad, outer_pad) values ('owner_suite', decode(repeat('36', 64), 'hex'), decode(repeat('5c', 64), 'hex')) on conflict (key_id) do nothing";

ownerMigrationSuite({
  migrations,
  requiredRoles: REQUIRED_ROLES,
  migrationIds: ['${s.migrationId}'],
  tables: ['${s.table}'],
  tenantRow: { table: '${s.name}.${s.table}', insert: \`\${SEED_KEY}; insert into ${s.name}.${s.table} (tenant_id, name) values ('acme', 'first')\` },
});
`,
    [`test/${s.rowFile}-repository.test.ts`]: `import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { UniqueViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { APP_ROLE, ${s.row}Repository, migrations, type DB } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
// the app role: a plain, non-owner role that RLS applies to; data sources carry the fixture's tenant key
const sources = useModuleRoles<DB>(db, { module: '${s.title}', roles: [APP_ROLE] });
let app: PostgresDataSource<DB>;

beforeEach(() => {
  app = sources.open();
});

describe('${s.row}Repository', () => {
  it('creates, finds, lists, renames and deletes rows; names are unique per tenant ignoring case', async () => {
    const repo = new ${s.row}Repository(app.forTenant('acme'));
    const first = await repo.create({ name: 'First' });
    expect(first).toMatchObject({ tenant_id: 'acme', name: 'First' });
    await expect(repo.create({ name: 'FIRST' })).rejects.toBeInstanceOf(UniqueViolationError);
    await repo.create({ name: 'second' });
    expect((await repo.list()).map((r) => r.name)).toEqual(['First', 'second']);
    expect(await repo.rename(first.id, 'renamed')).toMatchObject({ id: first.id, name: 'renamed' });
    expect(await repo.findById(first.id)).toMatchObject({ name: 'renamed' });
    expect(await repo.delete(first.id)).toBe(true);
    expect(await repo.findById(first.id)).toBeUndefined();
    expect(await repo.delete(first.id)).toBe(false);
  });

  it('keeps tenants apart: another tenant sees and changes nothing, and without a tenant there are no rows', async () => {
    const acme = await new ${s.row}Repository(app.forTenant('acme')).create({ name: 'mine' });
    const globex = new ${s.row}Repository(app.forTenant('globex'));
    expect(await globex.findById(acme.id)).toBeUndefined();
    expect(await globex.rename(acme.id, 'stolen')).toBeUndefined();
    expect(await globex.delete(acme.id)).toBe(false);
    expect(await globex.create({ name: 'mine' })).toMatchObject({ tenant_id: 'globex' });
    // no tenant set: row level security shows nothing and refuses inserts
    expect(await app.db.selectFrom('${s.name}.${s.table}').selectAll().execute()).toEqual([]);
    await expect(app.db.insertInto('${s.name}.${s.table}').values({ tenant_id: 'acme', name: 'x' }).execute()).rejects.toMatchObject({ sqlState: '42501' });
    // a tenant set by SQL alone (no proof; the data source refuses such SQL, a plain client does not) is not the verified tenant
    const raw = new pg.Client(sources.url());
    await raw.connect();
    try {
      await raw.query("select set_config('app.tenant_id', 'acme', false)");
      expect((await raw.query('select * from ${s.name}.${s.table}')).rows).toEqual([]);
    } finally {
      await raw.end();
    }
    const all = await db.pool.query<{ tenant_id: string; name: string }>('select tenant_id, name from ${s.name}.${s.table} order by 1');
    expect(all.rows).toEqual([
      { tenant_id: 'acme', name: 'mine' },
      { tenant_id: 'globex', name: 'mine' },
    ]);
  });

  it('tags a row the owner writes without a tag (fill trigger, installed key), so its tenant alone sees it', async () => {
    // as the superuser (an owner's maintenance insert): no tenant session, no tenant_tag given
    await db.pool.query("insert into ${s.name}.${s.table} (tenant_id, name) values ('acme', 'seeded')");
    expect((await new ${s.row}Repository(app.forTenant('acme')).list()).map((r) => r.name)).toEqual(['seeded']);
    expect(await new ${s.row}Repository(app.forTenant('globex')).list()).toEqual([]);
  });
});
`,
    'README.md': `# @stellaops/module-${s.name}

${s.title}'s PostgreSQL persistence: schema \`${s.name}\`, its migrations, generated
Kysely types and typed repositories. Every table is tenant-owned and isolated
by row level security (RLS). Made by \`stella-db new module ${s.name}\`; see
[docs/adding-a-module.md](../../../docs/adding-a-module.md).

## What it stores

| table | key | what |
| --- | --- | --- |
| \`${s.table}\` | \`(tenant_id, id)\` | \`name\` (unique per tenant, any case), \`created_at\`, \`updated_at\`, \`tenant_tag\` (row tag, RLS) |

Migrations: \`src/migrations/\` (\`${s.migrationId}\`), exported as \`migrations\`
(a \`defineMigrationSet\`) for \`stella-db up\`, \`stella-db migrate --module ${s.name}\`
and the test fixture.

**Migrations are frozen.** Each migration's \`up\`/\`down\` is literal SQL text;
the checksums are pinned in \`migrations.lock.json\` and
\`test/migration-pins.test.ts\` fails when an applied migration's text changes. A
change is a new migration (\`V002_…\`, appended in \`migration-set.ts\`), pinned with
\`UPDATE_MIGRATION_PINS=1 pnpm --filter @stellaops/module-${s.name} test\`.

## Tenants, RLS and roles

- Every table: \`ENABLE\` + \`FORCE ROW LEVEL SECURITY\`, the row tag
  \`tenant_tag\` (sha256 of the tenant's proof; filled by a trigger when an owner
  writes a row without one, moved to the session's key by the rotation trigger
  when a unit updates a row still tagged with the previous key) and the
  standard tenant policy (the text
  postgres-core's \`tenantIsolationSql\` produced when the migration was
  written), on postgres-core's security migrations (applied before this
  module's): reads compare \`tenant_id\` with \`app.tenant_id\` and the row's
  tag with \`stellaops_security.session_tag()\` (the sha256 of the session's
  tenant proof, evaluated once per statement); writes must match the verified
  tenant \`stellaops_security.current_tenant()\`. \`forTenant\` sessions send the
  proof when the data source has the tenant key (\`tenantKey\`/\`tenantKeyId\`,
  \`Postgres__TenantKey\`). \`tenant_id\` leads the primary key and defaults to the
  verified tenant. No tenant (or one set by SQL alone) → no rows, no inserts.
- The tenant key is installed before rows exist (\`stella-db up\`, the test
  fixture's templates): the fill trigger needs it to tag an owner's row.
- App role \`stellaops_app\` (\`REQUIRED_ROLES\`): DML on the module tables, nothing
  on \`${s.name}._migrations\`; never owner, never \`BYPASSRLS\`.

## Use

\`\`\`ts
import { createDataSource } from '@stellaops/postgres-core';
import { type DB, ${s.row}Repository } from '@stellaops/module-${s.name}';

const ds = createDataSource<DB>(appOptions, { module: '${s.title}' });
const row = await new ${s.row}Repository(ds.forTenant('acme')).create({ name: 'first' });
\`\`\`

## Tests and generated types

\`pnpm --filter @stellaops/module-${s.name} test\` (real PostgreSQL 16 from the shared
fixture): the frozen-migration pins and the non-superuser-owner suite from
\`@stellaops/module-testkit\`, and the repository with tenant isolation.
\`src/generated/db.ts\` comes from \`pnpm --filter @stellaops/module-${s.name} codegen\`
(\`stella-db codegen --module ${s.name}\`; CI checks it with \`pnpm codegen:check\`).
`,
  };
}
