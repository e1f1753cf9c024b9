import { quoteIdentifier } from '@stellaops/postgres-core';

/**
 * The `search_path` a migration runs with: its set's schema first, then
 * `public`, so unqualified names (`create table ledger (…)`) land in the
 * managed schema, as Flyway's default schema does.
 */
export function migrationSearchPath(schema: string): string {
  return `${quoteIdentifier(schema)}, public`;
}

/**
 * The one simple query that starts each migration: `RESET ALL` (so a `SET
 * search_path`/`SET ROLE` left by the previous migration never changes what
 * this one does), the runner's `lock_timeout`, then — for a transactional
 * migration — `BEGIN`, `search_path` = `<schema>, public` and the
 * migration's own `lock_timeout`, if any, all local to its transaction.
 * Outside a transaction both are set for the session; the runner resets them
 * right after the migration. Statements before `BEGIN` join the transaction it opens
 * (simple-query protocol), so a rolled-back attempt is reset again on retry.
 */
export function migrationPreludeSql(options: {
  schema: string;
  sessionLockTimeoutMs: number;
  migrationLockTimeoutMs: number | undefined;
  begin: boolean;
}): string {
  const ms = (n: number) => `'${Math.max(0, Math.floor(n))}ms'`;
  const searchPath = `'${migrationSearchPath(options.schema).replace(/'/g, "''")}'`;
  const parts = ['reset all'];
  if (options.begin) {
    parts.push(
      `select set_config('lock_timeout', ${ms(options.sessionLockTimeoutMs)}, false)`,
      'begin',
      `select set_config('search_path', ${searchPath}, true)`,
    );
    if (options.migrationLockTimeoutMs !== undefined)
      parts.push(`select set_config('lock_timeout', ${ms(options.migrationLockTimeoutMs)}, true)`);
  } else {
    parts.push(
      `select set_config('lock_timeout', ${ms(options.migrationLockTimeoutMs ?? options.sessionLockTimeoutMs)}, false)`,
      `select set_config('search_path', ${searchPath}, false)`,
    );
  }
  return parts.join('; ');
}
