/** Directives a SQL migration file may declare in its leading comment lines. */
export interface SqlFileDirectives {
  /** `-- stella:no-transaction`: run outside a transaction. */
  noTransaction: boolean;
  /** `-- stella:description <text>`: the migration's description. */
  description: string | undefined;
  /** `-- stella:lock-timeout <ms>`: this migration's `lock_timeout` (0 = none). */
  lockTimeoutMs: number | undefined;
}

/**
 * Reads `-- stella:…` directives from the leading comment lines of a SQL
 * migration (before its first statement).
 */
export function readSqlDirectives(script: string): SqlFileDirectives {
  const result: SqlFileDirectives = { noTransaction: false, description: undefined, lockTimeoutMs: undefined };
  for (const raw of script.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const m = /^--\s*stella:([a-z-]+)\s*(.*)$/i.exec(line);
    if (!m) continue;
    const key = (m[1] as string).toLowerCase();
    if (key === 'no-transaction') result.noTransaction = true;
    else if (key === 'description') result.description = (m[2] as string).trim() || undefined;
    else if (key === 'lock-timeout' && /^\d+$/.test((m[2] as string).trim())) result.lockTimeoutMs = Number((m[2] as string).trim());
  }
  return result;
}
