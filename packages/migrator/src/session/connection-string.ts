// Connection strings: `@stellaops/postgres-core` owns normalization and
// redaction (`normalizeConnectionString`, `redactConnectionString`). Until it
// exports them, this module provides compatible minimal versions; it is the
// only place to switch.
import { MigratorError } from '../errors/migrator-error.js';

const KEYS: Record<string, string> = {
  host: 'host',
  server: 'host',
  port: 'port',
  database: 'database',
  db: 'database',
  username: 'user',
  'user id': 'user',
  userid: 'user',
  user: 'user',
  password: 'password',
  pwd: 'password',
  'ssl mode': 'sslmode',
  sslmode: 'sslmode',
  'application name': 'application_name',
};

/**
 * A `postgres://` URL from a URL or an Npgsql keyword string
 * (`Host=…;Port=…;Database=…;Username=…;Password=…`).
 * @throws MigratorError (`INVALID_CONNECTION_STRING`) on unusable input
 */
export function normalizeConnectionString(input: string): string {
  const s = input.trim();
  if (/^postgres(?:ql)?:\/\//i.test(s)) return s;
  if (!s.includes('=')) throw new MigratorError('INVALID_CONNECTION_STRING', 'connection string is neither a postgres:// URL nor Key=Value pairs');
  const parts: Record<string, string> = {};
  for (const pair of s.split(';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) throw new MigratorError('INVALID_CONNECTION_STRING', `connection string part without "=": ${pair.split('=')[0]?.slice(0, 20) ?? ''}`);
    const key = KEYS[pair.slice(0, eq).trim().toLowerCase()];
    if (key) parts[key] = pair.slice(eq + 1).trim();
  }
  if (!parts.host) throw new MigratorError('INVALID_CONNECTION_STRING', 'connection string has no Host');
  const auth = parts.user ? `${encodeURIComponent(parts.user)}${parts.password ? `:${encodeURIComponent(parts.password)}` : ''}@` : '';
  const query = new URLSearchParams();
  if (parts.sslmode) query.set('sslmode', parts.sslmode.toLowerCase());
  if (parts.application_name) query.set('application_name', parts.application_name);
  const q = query.toString();
  return `postgres://${auth}${parts.host}${parts.port ? `:${parts.port}` : ''}/${encodeURIComponent(parts.database ?? 'postgres')}${q ? `?${q}` : ''}`;
}

/** The connection string with any password replaced by `***`. */
export function redactConnectionString(input: string): string {
  return input
    .replace(/(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@')
    .replace(/((?:^|;)\s*(?:password|pwd)\s*=)[^;]*/gi, '$1***')
    .replace(/([?&]password=)[^&]*/gi, '$1***');
}
