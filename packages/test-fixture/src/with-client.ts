import pg from 'pg';

/**
 * Runs `fn` on a fresh `pg` client connected to `connectionString` (e.g. a
 * test database as another role: `db.server.urlFor(db.database, { user, password })`),
 * and always closes it.
 *
 * @example
 * ```ts
 * const n = await withClient(db.server.urlFor(db.database, { user: 'app', password: 'pw' }), (c) => c.query('select count(*) from t'));
 * ```
 */
export async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => undefined); // a server-side end (DROP … WITH (FORCE)) must not crash the test process
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
