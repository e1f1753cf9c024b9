import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { computeMigrationsHash, resolveMigrations, SchemaMigrator, type MigrationSet } from '@stellaops/migrator';
import { SECURITY_SCHEMA, securityMigrations } from '@stellaops/postgres-core';
import type { DatabaseFactory } from '@stellaops/test-fixture';
import { finishGeneratedFile, recordedHash } from './type-aliases.js';

/** Where a module's generated types live, relative to its package. */
export const GENERATED_FILE = join('src', 'generated', 'db.ts');

/** One module to generate types for. */
export interface CodegenTarget {
  name: string;
  /** Package folder; the file goes to `<dir>/src/generated/db.ts`. */
  dir: string;
  migrations: MigrationSet;
}

/** What happened to one module's file. */
export interface CodegenResult {
  module: string;
  file: string;
  /** `written` (changed and written), `unchanged`, `stale` (with --check: differs), `missing` (with --check). */
  state: 'written' | 'unchanged' | 'stale' | 'missing';
  /** Unified diff from the committed file to the generated one, when they differ. */
  diff?: string;
}

/**
 * Content hash of a module's migrations (migrator's `computeMigrationsHash`
 * over the set's schema, tracking table and migrations), recorded in the
 * generated file's header: the types are current while it matches.
 */
export async function migrationsHashOf(set: MigrationSet): Promise<string> {
  return computeMigrationsHash(set.schema, set.table ?? '_migrations', await resolveMigrations(set.migrations));
}

/** True when the committed file was generated from exactly these migrations (no server needed). */
export async function isUpToDate(target: CodegenTarget): Promise<boolean> {
  const file = join(target.dir, GENERATED_FILE);
  if (!existsSync(file)) return false;
  return recordedHash(readFileSync(file, 'utf8')) === (await migrationsHashOf(target.migrations));
}

/**
 * The module's schema in an empty database, as the superuser: postgres-core's
 * security migrations first (the module's tenant policies, defaults and
 * triggers call `stellaops_security.current_tenant()`, `session_tag()` and
 * `fill_tenant_tag()`), then the module's migrations. No tenant key and no
 * role hardening: codegen only reads the catalog, and the tag backfill of
 * `tenantIsolationSql` finds no rows to tag in the empty tables (a migration
 * that wrote tenant rows itself would need a key: the fill trigger refuses to
 * tag without one).
 */
async function applyModuleSchema(connectionString: string, set: MigrationSet): Promise<void> {
  const applicationName = 'stella-db codegen';
  await new SchemaMigrator({ connectionString, schema: SECURITY_SCHEMA, migrations: securityMigrations, applicationName }).up();
  await new SchemaMigrator({
    connectionString,
    schema: set.schema,
    migrations: set.migrations,
    applicationName,
    ...(set.table !== undefined ? { table: set.table } : {}),
  }).up();
}

async function generateFor(factory: DatabaseFactory, target: CodegenTarget): Promise<string> {
  const { generate, PostgresDialect: CodegenDialect } = await import('kysely-codegen');
  const db = await factory.acquire(); // an empty throwaway database
  try {
    await applyModuleSchema(db.connectionString, target.migrations);
    const schema = target.migrations.schema;
    const code = await generate({
      db: db.kysely() as never, // kysely-codegen types its own copy of Kysely
      dialect: new CodegenDialect(),
      includePattern: `${schema}.*`,
      excludePattern: `${schema}.${target.migrations.table ?? '_migrations'}`,
      outFile: null,
      print: false,
      logger: { debug() {}, error() {}, info() {}, log() {}, success() {}, warn() {} } as never,
    });
    return finishGeneratedFile(code, { module: target.name, migrationsHash: await migrationsHashOf(target.migrations) });
  } finally {
    await db.release(); // closes the Kysely instance and its pool
  }
}

/**
 * Builds each module's schema in a throwaway database (a server and an empty
 * database from the test fixture: no live database needed), runs kysely-codegen, and
 * writes `src/generated/db.ts` — or, with `check`, compares and reports a diff.
 */
export async function runCodegen(
  targets: CodegenTarget[],
  options: { check: boolean; cwd: string; log?: (line: string) => void },
): Promise<CodegenResult[]> {
  // loaded on demand: `stella-db up` with current types never needs them
  const { DatabaseFactory, startTestServer } = await import('@stellaops/test-fixture');
  const { createTwoFilesPatch } = await import('diff');
  const server = await startTestServer({ log: options.log ?? (() => undefined) });
  const factory = new DatabaseFactory(server.info, { poolSize: 0 });
  const results: CodegenResult[] = [];
  try {
    for (const target of targets) {
      const file = join(target.dir, GENERATED_FILE);
      const shown = relative(options.cwd, file) || file;
      const next = await generateFor(factory, target);
      const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (current === next) {
        results.push({ module: target.name, file: shown, state: 'unchanged' });
        continue;
      }
      const diff = createTwoFilesPatch(`a/${shown}`, `b/${shown}`, current ?? '', next, 'committed', 'generated from migrations');
      if (options.check) {
        results.push({ module: target.name, file: shown, state: current === undefined ? 'missing' : 'stale', diff });
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, next);
        results.push({ module: target.name, file: shown, state: 'written', diff });
      }
    }
  } finally {
    try {
      await factory.close();
    } finally {
      await server.stop();
    }
  }
  return results;
}
