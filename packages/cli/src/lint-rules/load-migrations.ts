import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureSql, renderRecordedQueries, resolveMigrations, type MigrationSource } from '@stellaops/migrator';
import type { LintMigration, LintWaiver } from './lint-migrations.js';

/**
 * The SQL each migration's `up` runs, for linting: SQL text as written (with its
 * comments, so inline waivers count), and for a TypeScript step the SQL a dry run
 * compiles (as `stella-db migrate plan` shows it).
 *
 * @example
 * const migrations = await lintableMigrations(set.migrations);
 */
export async function lintableMigrations(source: MigrationSource): Promise<LintMigration[]> {
  const out: LintMigration[] = [];
  for (const m of await resolveMigrations(source)) {
    if (m.up.kind === 'sql') {
      out.push({ id: m.id, sql: m.up.sql, transaction: m.transaction, lockTimeoutMs: m.lockTimeoutMs });
      continue;
    }
    const captured = await captureSql(m.up.fn);
    out.push({
      id: m.id,
      sql: renderRecordedQueries(captured.queries),
      transaction: m.transaction,
      lockTimeoutMs: m.lockTimeoutMs,
      partial: captured.ok ? undefined : `the dry run threw: ${captured.reason}`,
    });
  }
  return out;
}

/** File name of a module's waivers for findings in frozen migrations (package root or migrations folder). */
export const WAIVER_FILE = 'lint-waivers.json';

/**
 * Reads `lint-waivers.json` in `dir` (none when absent): `{ "waivers": [{ "migration", "rule", "object"?, "reason" }] }`.
 * Frozen migrations cannot take inline comments (their text is checksummed), so their intended findings are waived here.
 *
 * @example
 * readWaiverFile('packages/modules/notify');
 */
export function readWaiverFile(dir: string): LintWaiver[] {
  const file = join(dir, WAIVER_FILE);
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}): fix it`, { cause: error });
  }
  const waivers = (doc as { waivers?: unknown }).waivers;
  if (!Array.isArray(waivers)) throw new Error(`${file} must be { "waivers": [{ "migration", "rule", "object", "reason" }] }`);
  return waivers as LintWaiver[];
}
