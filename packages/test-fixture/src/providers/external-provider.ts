import pg from 'pg';
import { redactConnectionString, redactSecrets } from '@stellaops/safe-text';
import { ProviderUnavailableError } from '../errors/index.js';
import { parseUrl } from '../util/connection-url.js';
import type { StartedServer } from './started-server.js';

/**
 * Uses a server given by URL (e.g. a CI service container). Checks that it
 * answers within `timeoutMs`, runs PostgreSQL 15+ (16+ recommended), and that
 * the user may create databases.
 */
export async function startExternal(url: string, timeoutMs = 5000): Promise<StartedServer> {
  const t0 = performance.now();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
  } catch (cause) {
    throw new ProviderUnavailableError(
      'external',
      `Could not connect to the external PostgreSQL at ${redactConnectionString(url)}: ${redactSecrets((cause as Error).message)}. ` +
        'Fix: start that server or correct STELLAOPS_TEST_PG_URL; or unset it to use an embedded/Testcontainers server.',
      { cause },
    );
  }
  try {
    const { rows } = await client.query<{ v: string; version: string; can: boolean }>(
      `select current_setting('server_version_num') as v, current_setting('server_version') as version,
              (select rolsuper or rolcreatedb from pg_roles where rolname = current_user) as can`,
    );
    const row = rows[0]!;
    if (Number(row.v) < 150000) {
      throw new ProviderUnavailableError(
        'external',
        `The external server at ${redactConnectionString(url)} runs PostgreSQL ${row.version}; the fixture needs 15 or newer (16+ is the target). Fix: point STELLAOPS_TEST_PG_URL at a PostgreSQL 16 server.`,
      );
    }
    if (!row.can) {
      throw new ProviderUnavailableError(
        'external',
        `The user of ${redactConnectionString(url)} may not create databases, which isolated test databases need. Fix: ALTER ROLE … CREATEDB, or use a superuser URL.`,
      );
    }
    const { database, ...address } = parseUrl(url);
    return {
      provider: 'external',
      address,
      adminDatabase: database,
      detail: `PostgreSQL ${row.version} via external URL ${redactConnectionString(url)} (checked in ${Math.round(performance.now() - t0)} ms)`,
      release: async () => undefined,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
