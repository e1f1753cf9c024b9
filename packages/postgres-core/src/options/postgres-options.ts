import { z } from 'zod';
import { ConfigurationError, InvalidConnectionStringError, type ConfigProblem } from '../errors/configuration-error.js';
import { parseConnectionString, SSL_MODES } from './connection-string.js';
import { TENANT_KEY_ID_PATTERN, TENANT_KEY_MIN_LENGTH, TenantKey } from '../tenant/tenant-key.js';

/** Coerces numeric strings (environment variables) to numbers; leaves anything else for zod to reject. */
const int = (): z.ZodType<number, unknown> =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number().int('must be an integer'),
  );

/** Matches an enumeration case-insensitively and returns its canonical spelling. */
export function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? (values.find((x) => x.toLowerCase() === v.trim().toLowerCase()) ?? v) : v),
    z.enum(values),
  );
}

/** Connection pooler between the service and PostgreSQL. */
export const POOLER_MODES = ['none', 'transaction'] as const;

/**
 * `none`: direct connections (or PgBouncer session pooling) — session defaults
 * are sent once per connection as startup `options`, server-side prepared
 * statements are used for internal statements.
 * `transaction`: PgBouncer transaction pooling — no startup `options`, no
 * named prepared statements, session defaults become transaction-local and
 * ride in the same round trip as each transaction's first statement.
 */
export type PoolerMode = (typeof POOLER_MODES)[number];

/**
 * Zod schema of {@link PostgresOptions} (camelCase keys; see
 * {@link loadPersistenceOptions} for the .NET-style configuration sources).
 *
 * @example
 * ```ts
 * const opts = PostgresOptionsSchema.parse({ connectionString: 'Host=db;Database=stellaops;Username=app;Password=x' });
 * opts.commandTimeoutSeconds; // 30
 * ```
 */
export const PostgresOptionsSchema = z
  .object({
    /** Npgsql keyword string or `postgres://` URL. */
    connectionString: z
      .string('must be a string')
      .min(1, 'is required')
      .superRefine((cs, ctx) => {
        try {
          parseConnectionString(cs);
        } catch (e) {
          if (!(e instanceof InvalidConnectionStringError)) throw e;
          for (const p of e.problems) ctx.addIssue({ code: 'custom', message: `${p.path}: ${p.message}` });
        }
      }),
    /** Server-side `statement_timeout` in seconds; 0 disables it. */
    commandTimeoutSeconds: int().pipe(z.number().min(0, 'must be >= 0').max(86_400, 'must be <= 86400')).default(30),
    /** Time allowed to open a connection AND to wait for a pooled one, in seconds. */
    connectionTimeoutSeconds: int().pipe(z.number().min(1, 'must be >= 1').max(3_600, 'must be <= 3600')).default(15),
    /** Pool sizing. */
    pool: z
      .object({
        max: int().pipe(z.number().min(1, 'must be >= 1').max(1_000, 'must be <= 1000')).default(10),
        min: int().pipe(z.number().min(0, 'must be >= 0')).default(0),
        idleTimeoutSeconds: int().pipe(z.number().min(0, 'must be >= 0')).default(30),
        maxLifetimeSeconds: int().pipe(z.number().min(0, 'must be >= 0')).default(0),
      })
      .strict()
      .superRefine((p, ctx) => {
        if (p.min > p.max) ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be <= Pool.Max' });
      })
      .prefault({}),
    /** TLS settings; `mode` overrides the connection string's `sslmode`. */
    tls: z
      .object({
        mode: caseInsensitiveEnum(SSL_MODES).optional(),
        /** PEM CA bundle (content). */
        ca: z.string().optional(),
        /** Path of a PEM CA bundle. */
        caFile: z.string().optional(),
        /** Client certificate (PEM content). */
        cert: z.string().optional(),
        /** Path of the client certificate. */
        certFile: z.string().optional(),
        /** Client key (PEM content). */
        key: z.string().optional(),
        /** Path of the client key. */
        keyFile: z.string().optional(),
      })
      .strict()
      .prefault({}),
    /** `application_name` reported to the server. */
    applicationName: z.string().max(63, 'must be at most 63 characters').default('stellaops'),
    /** Default schema (`search_path` first entry). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_$]{0,62}$/, 'must be a lower-case identifier')
      .optional(),
    /**
     * Distinct statement texts auto-prepared as named server-side statements
     * (per process; each connection parses each once). 0 disables. Ignored in
     * `transaction` pooler mode.
     */
    maxAutoPrepare: int().pipe(z.number().min(0, 'must be >= 0').max(10_000, 'must be <= 10000')).default(250),
    /** See {@link PoolerMode}. */
    poolerMode: caseInsensitiveEnum(POOLER_MODES).default('none'),
    /**
     * Secret the data source signs tenant ids with (`Postgres__TenantKey`): the
     * database accepts `app.tenant_id` only with `app.tenant_proof` =
     * `<tenantKeyId>.<hex HMAC-SHA256(tenantKey, tenant id)>`. Required for
     * `forTenant`/`withTenant`/`batchWithTenant`. Never logged (a
     * {@link TenantKey} after parsing, printed as `***`).
     */
    tenantKey: z
      .union([
        z.instanceof(TenantKey),
        z
          .string('must be a string')
          .min(TENANT_KEY_MIN_LENGTH, `must be at least ${TENANT_KEY_MIN_LENGTH} characters (e.g. openssl rand -base64 32)`),
      ])
      .optional(),
    /** Id of the stored key {@link tenantKey} matches (`Postgres__TenantKeyId`, default `k1`); several ids allow rotation. */
    tenantKeyId: z.string('must be a string').regex(TENANT_KEY_ID_PATTERN, 'must be 1-32 letters, digits, "_" or "-"').default('k1'),
    /**
     * During a key rotation only: the key rows were tagged with before
     * (`Postgres__PreviousTenantKey`). Each unit also sends its proof as
     * `app.tenant_proof_previous`, so rows still tagged with it stay readable
     * while `retagTenantRows` moves them to {@link tenantKey}. Writes always
     * use the current key. Remove it once re-tagging is done.
     */
    previousTenantKey: z
      .union([
        z.instanceof(TenantKey),
        z
          .string('must be a string')
          .min(TENANT_KEY_MIN_LENGTH, `must be at least ${TENANT_KEY_MIN_LENGTH} characters (e.g. openssl rand -base64 32)`),
      ])
      .optional(),
    /** Id of {@link previousTenantKey} (`Postgres__PreviousTenantKeyId`); required with a string previous key. */
    previousTenantKeyId: z.string('must be a string').regex(TENANT_KEY_ID_PATTERN, 'must be 1-32 letters, digits, "_" or "-"').optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.tls.cert || o.tls.certFile) && !(o.tls.key || o.tls.keyFile)) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'key'], message: 'a client certificate needs a key' });
    }
    if (typeof o.previousTenantKey === 'string' && o.previousTenantKeyId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['previousTenantKeyId'],
        message: 'a previous tenant key needs its id (Postgres__PreviousTenantKeyId)',
      });
    }
    if (o.previousTenantKey !== undefined && o.tenantKey === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantKey'],
        message: 'a previous tenant key is only used next to the current one (Postgres__TenantKey)',
      });
    }
  })
  .transform((o) => {
    const { tenantKey, previousTenantKey, ...rest } = o;
    const previous =
      typeof previousTenantKey === 'string' ? new TenantKey(o.previousTenantKeyId ?? '', previousTenantKey) : previousTenantKey;
    if (tenantKey === undefined) return { ...rest, tenantKey: undefined, previousTenantKey: undefined };
    const key = typeof tenantKey === 'string' ? new TenantKey(o.tenantKeyId, tenantKey) : tenantKey;
    return { ...rest, tenantKey: key, tenantKeyId: key.keyId, previousTenantKey: previous, previousTenantKeyId: previous?.keyId };
  });

/** Validated PostgreSQL options (defaults applied). */
export type PostgresOptions = z.output<typeof PostgresOptionsSchema>;

/** Input accepted by {@link parsePostgresOptions} (defaults optional). */
export type PostgresOptionsInput = z.input<typeof PostgresOptionsSchema>;

/** Converts a zod error to problems with PascalCase dotted paths under `root`. */
export function zodProblems(error: z.ZodError, root: string): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map((p) => (typeof p === 'string' ? p[0]!.toUpperCase() + p.slice(1) : String(p)))].join('.');
    const values = (issue as { values?: unknown[] }).values;
    const keys = (issue as { keys?: string[] }).keys;
    if (issue.code === 'unrecognized_keys' && keys) {
      return { path, message: `unknown setting(s): ${keys.join(', ')}` };
    }
    let message = issue.message;
    // enum settings only: their value is a word like "Postgre", never a secret
    if (issue.code === 'invalid_value' && values)
      message = typeof issue.input === 'string' ? `invalid value "${issue.input.slice(0, 40)}"` : 'invalid value';
    if (issue.code === 'invalid_type') message = /received undefined/.test(issue.message) ? 'is required' : `must be a ${issue.expected}`;
    return values ? { path, message, allowed: values.map(String) } : { path, message };
  });
}

/**
 * Validates options, applying defaults.
 *
 * @throws {@link ConfigurationError} listing every problem (never the password)
 * @example
 * ```ts
 * const opts = parsePostgresOptions({ connectionString: process.env.PG_URL!, commandTimeoutSeconds: 10 });
 * ```
 */
export function parsePostgresOptions(input: PostgresOptionsInput): PostgresOptions {
  const r = PostgresOptionsSchema.safeParse(input, { reportInput: true });
  if (!r.success) throw new ConfigurationError(zodProblems(r.error, 'Postgres'));
  return r.data;
}
