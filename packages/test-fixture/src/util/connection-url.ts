/** Credentials and address of a PostgreSQL server, without a database. */
export interface ServerAddress {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** A `postgres://` URL for `database` on `server`, with credentials URL-encoded. */
export function buildUrl(server: ServerAddress, database: string, credentials?: { user: string; password?: string }): string {
  const user = encodeURIComponent(credentials?.user ?? server.user);
  const pass = credentials ? credentials.password : server.password;
  const auth = pass === undefined || pass === '' ? user : `${user}:${encodeURIComponent(pass)}`;
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  return `postgres://${auth}@${host}:${server.port}/${encodeURIComponent(database)}`;
}

/** Splits a `postgres://` URL into a server address and database name. */
export function parseUrl(url: string): ServerAddress & { database: string } {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new TypeError(`expected a postgres:// URL, got protocol "${u.protocol}"`);
  }
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
}
