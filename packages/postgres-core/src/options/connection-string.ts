import { InvalidConnectionStringError, type ConfigProblem } from '../errors/configuration-error.js';

/** TLS modes understood by libpq, Npgsql and node-pg. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** A TLS mode (`sslmode`). */
export type SslMode = (typeof SSL_MODES)[number];

/**
 * The settings found in a connection string, whichever its syntax.
 * Pool and timeout keys of Npgsql strings are kept so that options can use them.
 */
export interface ConnectionSettings {
  /** Host name(s), comma-separated when several. */
  host: string;
  /** TCP port (default 5432). */
  port: number;
  /** Database name. */
  database?: string;
  /** User name. */
  user?: string;
  /** Password (never log this object as is; use {@link redactConnectionString}). */
  password?: string;
  /** TLS mode. */
  sslMode?: SslMode;
  /** CA certificate file that verifies the server (URL `sslrootcert`, Npgsql `Root Certificate`), e.g. a private cluster CA. */
  sslRootCert?: string;
  /** `application_name`. */
  applicationName?: string;
  /** Connect timeout in seconds (Npgsql `Timeout`, URL `connect_timeout`). */
  connectTimeoutSeconds?: number;
  /** Npgsql `Command Timeout` in seconds. */
  commandTimeoutSeconds?: number;
  /** Npgsql `Maximum Pool Size`. */
  maxPoolSize?: number;
  /** Npgsql `Minimum Pool Size`. */
  minPoolSize?: number;
  /** Npgsql `Search Path`. */
  searchPath?: string;
}

const KEY_ALIASES: Record<string, keyof ConnectionSettings | 'ignored'> = {
  host: 'host',
  server: 'host',
  port: 'port',
  database: 'database',
  db: 'database',
  username: 'user',
  'user id': 'user',
  userid: 'user',
  user: 'user',
  uid: 'user',
  password: 'password',
  pwd: 'password',
  'ssl mode': 'sslMode',
  sslmode: 'sslMode',
  'root certificate': 'sslRootCert',
  rootcertificate: 'sslRootCert',
  'application name': 'applicationName',
  applicationname: 'applicationName',
  timeout: 'connectTimeoutSeconds',
  'command timeout': 'commandTimeoutSeconds',
  commandtimeout: 'commandTimeoutSeconds',
  'maximum pool size': 'maxPoolSize',
  'max pool size': 'maxPoolSize',
  maxpoolsize: 'maxPoolSize',
  'minimum pool size': 'minPoolSize',
  'min pool size': 'minPoolSize',
  minpoolsize: 'minPoolSize',
  'search path': 'searchPath',
  searchpath: 'searchPath',
  // Npgsql keys with no node-pg equivalent: accepted and ignored.
  pooling: 'ignored',
  'trust server certificate': 'ignored',
  'include error detail': 'ignored',
  'connection idle lifetime': 'ignored',
  'connection pruning interval': 'ignored',
  keepalive: 'ignored',
  'tcp keepalive': 'ignored',
  enlist: 'ignored',
  'no reset on close': 'ignored',
  'max auto prepare': 'ignored',
  multiplexing: 'ignored',
  'server compatibility mode': 'ignored',
};

const NUMERIC_KEYS = new Set<keyof ConnectionSettings>([
  'port',
  'connectTimeoutSeconds',
  'commandTimeoutSeconds',
  'maxPoolSize',
  'minPoolSize',
]);

/** True when `s` looks like a URL (`postgres://` or `postgresql://`). */
export function isConnectionUrl(s: string): boolean {
  return /^\s*postgres(?:ql)?:\/\//i.test(s);
}

/**
 * Splits an Npgsql/ADO.NET keyword string into `[key, value]` pairs.
 * Values may be quoted with `"` or `'` (a doubled quote escapes itself), which
 * allows `;` and `=` inside; `==` inside a key is a literal `=`.
 */
function splitKeywordString(s: string, problems: ConfigProblem[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ';' || /\s/.test(s[i] ?? ''))) i++;
    if (i >= n) break;
    let key = '';
    while (i < n) {
      const c = s[i];
      if (c === '=') {
        if (s[i + 1] === '=') {
          key += '=';
          i += 2;
          continue;
        }
        break;
      }
      if (c === ';') break;
      key += c;
      i++;
    }
    key = key.trim();
    if (s[i] !== '=') {
      // Never echo the segment: it may be a fragment of an unquoted password containing ';'.
      problems.push({
        path: `connectionString[segment ${pairs.length + 1}]`,
        message: 'expected "key=value" (quote values containing ";")',
      });
      pairs.push(['', '']);
      while (i < n && s[i] !== ';') i++;
      continue;
    }
    i++; // '='
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    let value = '';
    const q = s[i];
    if (q === '"' || q === "'") {
      i++;
      let closed = false;
      while (i < n) {
        if (s[i] === q) {
          if (s[i + 1] === q) {
            value += q;
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        value += s[i];
        i++;
      }
      if (!closed) problems.push({ path: `connectionString${safeKeyPath(key, pairs.length + 1)}`, message: 'unterminated quoted value' });
      while (i < n && s[i] !== ';') {
        if (!/\s/.test(s[i] ?? '')) {
          problems.push({ path: `connectionString${safeKeyPath(key, pairs.length + 1)}`, message: 'unexpected text after a quoted value' });
          while (i < n && s[i] !== ';') i++;
          break;
        }
        i++;
      }
    } else {
      while (i < n && s[i] !== ';') {
        value += s[i];
        i++;
      }
      value = value.trim();
    }
    pairs.push([key, value]);
  }
  return pairs;
}

/** `.Key` when the key looks like a keyword, else `[segment N]` (the text might be part of a secret). */
function safeKeyPath(key: string, segment: number): string {
  return /^[A-Za-z][A-Za-z ]{0,39}$/.test(key) ? `.${key}` : `[segment ${segment}]`;
}

function parseKeywordString(s: string): ConnectionSettings {
  const problems: ConfigProblem[] = [];
  const pairs = splitKeywordString(s, problems);
  const out: Partial<Record<keyof ConnectionSettings, string | number>> = {};
  const seen = new Set<string>();
  let previous: string | undefined;
  for (const [index, [rawKey, value]] of pairs.entries()) {
    const afterPassword = previous === 'password';
    const key = rawKey.toLowerCase().replace(/\s+/g, ' ');
    const target = KEY_ALIASES[key];
    previous = target;
    if (rawKey === '' && value === '') continue; // malformed segment, already reported
    const path = `connectionString${afterPassword ? `[segment ${index + 1}]` : safeKeyPath(rawKey, index + 1)}`;
    if (target === undefined) {
      problems.push({
        path,
        message: afterPassword ? 'unknown keyword after Password (quote passwords containing ";")' : 'unknown keyword',
      });
      continue;
    }
    if (target === 'ignored') continue;
    if (seen.has(target)) {
      problems.push({ path, message: 'given more than once' });
      continue;
    }
    seen.add(target);
    if (NUMERIC_KEYS.has(target)) {
      if (!/^\d+$/.test(value)) {
        problems.push({ path, message: 'must be a non-negative integer' });
        continue;
      }
      out[target] = Number(value);
    } else if (target === 'sslMode') {
      const mode = value
        .toLowerCase()
        .replace(/([a-z])(ca|full)$/, '$1-$2')
        .replace(/^verify(ca|full)$/, 'verify-$1');
      if (!(SSL_MODES as readonly string[]).includes(mode)) {
        problems.push({ path, message: 'unknown TLS mode', allowed: SSL_MODES });
        continue;
      }
      out[target] = mode;
    } else {
      out[target] = value;
    }
  }
  if (!out.host) problems.push({ path: 'connectionString.Host', message: 'is required' });
  if (out.port !== undefined && (out.port === 0 || Number(out.port) > 65535)) {
    problems.push({ path: 'connectionString.Port', message: 'must be between 1 and 65535' });
  }
  if (problems.length > 0) throw new InvalidConnectionStringError(problems);
  return { port: 5432, ...out } as ConnectionSettings;
}

function parseUrl(s: string): ConnectionSettings {
  let url: URL;
  try {
    url = new URL(s.trim());
  } catch {
    // The cause (a TypeError quoting the input) is deliberately not attached: it would contain the password.
    throw new InvalidConnectionStringError([{ path: 'connectionString', message: 'not a valid URL' }]);
  }
  const problems: ConfigProblem[] = [];
  const settings: ConnectionSettings = { host: decodeURIComponent(url.hostname), port: 5432 };
  if (url.port) settings.port = Number(url.port);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) settings.database = db;
  if (url.username) settings.user = decodeURIComponent(url.username);
  if (url.password) settings.password = decodeURIComponent(url.password);
  for (const [k, v] of url.searchParams) {
    switch (k.toLowerCase()) {
      case 'sslmode':
        if (!(SSL_MODES as readonly string[]).includes(v)) {
          problems.push({ path: 'connectionString.sslmode', message: 'unknown TLS mode', allowed: SSL_MODES });
        } else settings.sslMode = v as SslMode;
        break;
      case 'sslrootcert':
        settings.sslRootCert = v;
        break;
      case 'application_name':
        settings.applicationName = v;
        break;
      case 'connect_timeout':
        if (!/^\d+$/.test(v)) problems.push({ path: 'connectionString.connect_timeout', message: 'must be a non-negative integer' });
        else settings.connectTimeoutSeconds = Number(v);
        break;
      case 'host':
        settings.host = v;
        break;
      case 'user':
        settings.user = v;
        break;
      case 'password':
        settings.password = v;
        break;
      case 'dbname':
        settings.database = v;
        break;
      case 'port':
        settings.port = Number(v);
        break;
      default:
        problems.push({ path: `connectionString.${k}`, message: 'unsupported URL parameter' });
    }
  }
  if (!settings.host) problems.push({ path: 'connectionString.host', message: 'is required' });
  if (problems.length > 0) throw new InvalidConnectionStringError(problems);
  return settings;
}

/**
 * Parses a connection string in either syntax into its settings.
 *
 * @throws {@link InvalidConnectionStringError} listing every problem (password never shown)
 * @example
 * ```ts
 * parseConnectionString('Host=db;Port=5433;Database=stellaops;Username=app;Password=s3cret').port; // 5433
 * ```
 */
export function parseConnectionString(s: string): ConnectionSettings {
  if (typeof s !== 'string' || s.trim() === '') {
    throw new InvalidConnectionStringError([{ path: 'connectionString', message: 'is empty' }]);
  }
  return isConnectionUrl(s) ? parseUrl(s) : parseKeywordString(s);
}

/** Builds the canonical `postgres://` URL from parsed settings. */
export function formatConnectionUrl(c: ConnectionSettings): string {
  const auth =
    c.user !== undefined ? `${encodeURIComponent(c.user)}${c.password !== undefined ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
  const host = c.host.includes(':') && !c.host.startsWith('[') ? `[${c.host}]` : c.host;
  const params = new URLSearchParams();
  if (c.sslMode) params.set('sslmode', c.sslMode);
  if (c.sslRootCert) params.set('sslrootcert', c.sslRootCert);
  if (c.applicationName) params.set('application_name', c.applicationName);
  if (c.connectTimeoutSeconds !== undefined) params.set('connect_timeout', String(c.connectTimeoutSeconds));
  const q = params.toString();
  return `postgres://${auth}${host}:${c.port}/${encodeURIComponent(c.database ?? '')}${q ? `?${q}` : ''}`;
}

/**
 * Turns an Npgsql keyword string (`Host=…;Port=…;Database=…;Username=…;Password=…;SSL Mode=…`,
 * case-insensitive keys, quoted values) or a `postgres://`/`postgresql://` URL into
 * a canonical `postgres://` URL (`sslmode`, `application_name` and `connect_timeout`
 * kept as query parameters; pool/timeout keywords are dropped: read them with
 * {@link parseConnectionString}).
 *
 * @throws {@link InvalidConnectionStringError} on bad input; the message never contains the password
 * @example
 * ```ts
 * normalizeConnectionString('Host=localhost;Database=stellaops;Username=app;Password=p@ss;SSL Mode=Require');
 * // 'postgres://app:p%40ss@localhost:5432/stellaops?sslmode=require'
 * ```
 */
export function normalizeConnectionString(s: string): string {
  return formatConnectionUrl(parseConnectionString(s));
}

/**
 * Returns the connection string with its password replaced by `***` (either
 * syntax, never throws). The implementation is `@stellaops/safe-text`'s, the
 * repository's one redactor; it is re-exported here for existing callers.
 *
 * @example
 * ```ts
 * redactConnectionString('postgres://app:s3cret@db/x'); // 'postgres://app:***@db/x'
 * ```
 */
export { redactConnectionString } from '@stellaops/safe-text';
