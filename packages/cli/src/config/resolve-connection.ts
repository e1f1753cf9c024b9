import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { normalizeConnectionString } from '@stellaops/postgres-core';
import { UsageError } from '../usage-error.js';

/** Environment variable holding the connection string (ASP.NET-style configuration key `Postgres:ConnectionString`). */
export const CONNECTION_ENV = 'Postgres__ConnectionString';

/**
 * The connection string to use, as a `postgres://` URL: `--url`, else
 * `Postgres.ConnectionString` of the `--config` JSON file (appsettings shape),
 * else the `Postgres__ConnectionString` environment variable. Npgsql keyword
 * strings are accepted anywhere.
 * @throws UsageError when none is given or it cannot be parsed
 */
export async function resolveConnection(
  opts: { url?: string; config?: string },
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<string> {
  let raw = opts.url;
  let from = '--url';
  if (raw === undefined && opts.config !== undefined) {
    const file = resolve(cwd, opts.config);
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read --config ${opts.config}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    const pg = (doc as { Postgres?: { ConnectionString?: unknown } } | null)?.Postgres;
    if (typeof pg?.ConnectionString !== 'string') throw new UsageError(`--config ${opts.config} has no Postgres.ConnectionString`);
    raw = pg.ConnectionString;
    from = `--config ${opts.config}`;
  }
  if (raw === undefined && env[CONNECTION_ENV]) {
    raw = env[CONNECTION_ENV];
    from = CONNECTION_ENV;
  }
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError(`no connection string: pass --url, --config <appsettings.json>, or set ${CONNECTION_ENV}`);
  }
  try {
    return normalizeConnectionString(raw);
  } catch (error) {
    throw new UsageError(`invalid connection string (${from}): ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
