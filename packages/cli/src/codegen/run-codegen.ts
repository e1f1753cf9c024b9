import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fixtureMigrations, type MigrationSet } from '@stellaops/migrator';
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

/** Content hash of a module's migrations, as the fixture and the file header use it. */
export async function migrationsHashOf(set: MigrationSet): Promise<string> {
  return (await fixtureMigrations(set)).hash;
}

/** True when the committed file was generated from exactly these migrations (no server needed). */
export async function isUpToDate(target: CodegenTarget): Promise<boolean> {
  const file = join(target.dir, GENERATED_FILE);
  if (!existsSync(file)) return false;
  return recordedHash(readFileSync(file, 'utf8')) === (await migrationsHashOf(target.migrations));
}

async function generateFor(factory: DatabaseFactory, target: CodegenTarget): Promise<string> {
  const { generate, PostgresDialect: CodegenDialect } = await import('kysely-codegen');
  const set = await fixtureMigrations(target.migrations);
  const db = await factory.acquire(set);
  try {
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
    return finishGeneratedFile(code, { module: target.name, migrationsHash: set.hash });
  } finally {
    await db.release(); // closes the Kysely instance and its pool
  }
}

/**
 * Builds each module's schema in a throwaway database (the test fixture's
 * template machinery: no live database needed), runs kysely-codegen, and
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
