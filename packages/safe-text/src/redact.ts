/** What every redactor puts in place of a secret. */
export const REDACTED = '***';

/** A value after `key=`: double- or single-quoted (doubled quote or backslash escapes), or bare up to `;`, `&` or white space. */
const VALUE = String.raw`"(?:[^"\\]|""|\\.)*"?|'(?:[^'\\]|''|\\.)*'?|[^;&\s'"]+`;

/**
 * The patterns {@link redactSecrets} hides, in order. Each keeps its key and
 * replaces only the secret.
 */
const TEXT_PATTERNS: ReadonlyArray<readonly [RegExp, string | ((...m: string[]) => string)]> = [
  // PEM private keys (TLS key files quoted by openssl or a log).
  [
    /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    `-----BEGIN $1PRIVATE KEY----- ${REDACTED} -----END $1PRIVATE KEY-----`,
  ],
  // URL userinfo anywhere in the text: scheme://user:secret@host (the secret runs to the token's last '@').
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"]*:)[^\s/?#'"]*@/gi, `$1${REDACTED}@`],
  // URL query parameter: ?password=… / &password=…
  [/([?&](?:password|pwd)=)[^&#\s'"]*/gi, `$1${REDACTED}`],
  // Keyword forms: Npgsql `Password=…;`, libpq conninfo `password='…'`, `PGPASSWORD=…` lines, `Pwd=…`.
  [new RegExp(String.raw`(\b(?:pg)?(?:password|pwd)\s*=\s*)(?:${VALUE})`, 'gi'), `$1${REDACTED}`],
  // JSON / YAML: "password": "…", password: …
  [/("(?:pg)?password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${REDACTED}"`],
  [/^(\s*(?:pg)?password\s*:[ \t]*)(?!["'\s])\S.*$/gim, `$1${REDACTED}`],
  // SQL: CREATE/ALTER ROLE … PASSWORD '…' (also E'…' and dollar quoting).
  [/(\bpassword\s+)(?:E?'(?:[^'\\]|''|\\.)*'|\$(\w*)\$[\s\S]*?\$\2\$)/gi, `$1'${REDACTED}'`],
  // Stored password hashes: SCRAM-SHA-256 verifiers and md5 hashes.
  [/\bSCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+/g, `SCRAM-SHA-256$${REDACTED}`],
  [/\bmd5[0-9a-f]{32}\b/g, `md5${REDACTED}`],
];

/** Options of {@link redactSecrets}. */
export interface RedactOptions {
  /** Secrets known by value (generated passwords, keys): replaced wherever they occur, also URL-encoded. */
  secrets?: ReadonlyArray<string | undefined>;
}

/**
 * Hides every password-like thing in free text (error messages, log tails, SQL
 * statements) behind `***`: URL userinfo and `?password=`, Npgsql keyword strings
 * (`Password=…;`), libpq conninfo (`password='…'`), `PGPASSWORD=…` lines, JSON and
 * YAML `password` fields, `PASSWORD '…'` in SQL, SCRAM-SHA-256 verifiers, md5
 * hashes, PEM private keys, and any secret given by value. Never throws.
 *
 * This is the one redactor of the repository; {@link redactConnectionString} is
 * its variant for a string known to be one connection string.
 *
 * @example
 * ```ts
 * redactSecrets('connect postgres://app:s3cret@db/x failed'); // 'connect postgres://app:***@db/x failed'
 * redactSecrets("alter role app password 's3cret'");         // "alter role app password '***'"
 * redactSecrets('PGPASSWORD=s3cret psql -h db');               // 'PGPASSWORD=*** psql -h db'
 * redactSecrets('token abc123', { secrets: ['abc123'] });      // 'token ***'
 * ```
 */
export function redactSecrets(text: string, options: RedactOptions = {}): string {
  if (typeof text !== 'string') return REDACTED;
  let out = text;
  for (const secret of options.secrets ?? []) {
    if (!secret) continue;
    out = out.split(secret).join(REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(REDACTED);
  }
  for (const [pattern, replacement] of TEXT_PATTERNS) {
    out = out.replace(pattern, replacement as string);
  }
  return out;
}

/**
 * Returns one connection string with its password replaced by `***`, for
 * either syntax (`postgres://` URL or Npgsql/libpq keywords), also for malformed
 * input (best effort, never throws). Unlike {@link redactSecrets}, an unquoted
 * keyword value runs to the next `;`, as Npgsql reads it (`Password=a b;` hides `a b`).
 *
 * @example
 * ```ts
 * redactConnectionString('postgres://app:s3cret@db/x'); // 'postgres://app:***@db/x'
 * redactConnectionString('Host=db;Password="a;b"');     // 'Host=db;Password=***'
 * ```
 */
export function redactConnectionString(s: string): string {
  if (typeof s !== 'string') return REDACTED;
  let out = s;
  // URL userinfo: scheme://user:password@host — the password runs to the LAST '@' before the path.
  out = out.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)([^/?#]*)@/i, (_m, pre: string) => `${pre}${REDACTED}@`);
  // URL query parameter password=…
  out = out.replace(/([?&](?:password|pwd)=)[^&#]*/gi, `$1${REDACTED}`);
  // Keyword syntax: Password=… / PWD=…, quoted or not, at the start or after ';'.
  out = out.replace(
    /(^|;)(\s*(?:password|pwd)\s*=\s*)("(?:[^"]|"")*"?|'(?:[^']|'')*'?|[^;]*)/gi,
    (_m, sep: string, key: string) => `${sep}${key}${REDACTED}`,
  );
  // libpq conninfo (`host=db password=x`): space-separated keywords.
  return redactSecrets(out);
}
