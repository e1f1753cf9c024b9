import pg from 'pg';

/**
 * How to reach a server as a superuser: a node-pg client configuration. For
 * the cluster this is the Unix socket (`host: '/run/stellaops/pg'`), so no
 * password is needed or stored; TCP with a password works too.
 */
export type SuperuserConnection = pg.ClientConfig;

/** Opens a client on `database` (default: the one in `conn`, else `postgres`). */
export async function connect(conn: SuperuserConnection, database?: string, applicationName = 'stellaops-backup'): Promise<pg.Client> {
  const client = new pg.Client({ ...conn, database: database ?? conn.database ?? 'postgres', application_name: applicationName });
  client.on('error', () => undefined); // a server gone while idle: the next query reports it
  await client.connect();
  return client;
}

/** Runs `fn` with a client that is always closed afterwards. */
export async function withClient<T>(conn: SuperuserConnection, database: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(conn, database);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Quotes a SQL literal (for the few statements that take no parameters: SET TRANSACTION SNAPSHOT). */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
