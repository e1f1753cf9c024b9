import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { KyselyMigrationStep } from '../migration/migration.js';
import { RecordingDriver, type RecordedQuery } from './recording-driver.js';

/** What a dry run of a Kysely migration step produced. */
export type CaptureResult = { ok: true; queries: RecordedQuery[] } | { ok: false; queries: RecordedQuery[]; reason: string };

/**
 * Runs a Kysely migration step against a recording PostgreSQL dialect: the
 * queries it would send are compiled and recorded, none is executed, and every
 * query answers zero rows. A step that branches on data it reads records only
 * the branch taken with empty results — the capture is then partial, which
 * `plan` says.
 */
export async function captureSql(fn: KyselyMigrationStep): Promise<CaptureResult> {
  const queries: RecordedQuery[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const db = new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new RecordingDriver(queries),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  try {
    await fn(db);
    return { ok: true, queries };
  } catch (error) {
    return { ok: false, queries, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await db.destroy();
  }
}

/** Renders recorded queries as one SQL text (parameters shown in a trailing comment). */
export function renderRecordedQueries(queries: readonly RecordedQuery[]): string {
  return queries
    .map((q) => `${q.sql.trim().replace(/;\s*$/, '')};${q.parameters.length > 0 ? ` -- parameters: ${JSON.stringify(q.parameters)}` : ''}`)
    .join('\n');
}
