/**
 * The one simple query that starts each migration: `RESET ALL` (so a `SET
 * search_path`/`SET ROLE` left by the previous migration never changes what
 * this one does), the runner's `lock_timeout`, then — for a transactional
 * migration — `BEGIN` and the migration's own `lock_timeout`, if any, local
 * to its transaction. Statements before `BEGIN` join the transaction it opens
 * (simple-query protocol), so a rolled-back attempt is reset again on retry.
 */
export function migrationPreludeSql(options: { sessionLockTimeoutMs: number; migrationLockTimeoutMs: number | undefined; begin: boolean }): string {
  const ms = (n: number) => `'${Math.max(0, Math.floor(n))}ms'`;
  const parts = ['reset all'];
  if (options.begin) {
    parts.push(`select set_config('lock_timeout', ${ms(options.sessionLockTimeoutMs)}, false)`, 'begin');
    if (options.migrationLockTimeoutMs !== undefined) parts.push(`select set_config('lock_timeout', ${ms(options.migrationLockTimeoutMs)}, true)`);
  } else {
    parts.push(`select set_config('lock_timeout', ${ms(options.migrationLockTimeoutMs ?? options.sessionLockTimeoutMs)}, false)`);
  }
  return parts.join('; ');
}
