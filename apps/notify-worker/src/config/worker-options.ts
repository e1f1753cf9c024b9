import { hostname } from 'node:os';
import { parseConnectionString, InvalidConnectionStringError } from '@stellaops/postgres-core';
import { z } from 'zod';

/** Numbers from environment variables arrive as strings. */
const int = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number('must be a number').int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`),
  );

/** Booleans from environment variables arrive as strings (`true`/`false`, any case). */
const bool = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^(true|false)$/i.test(v.trim()) ? v.trim().toLowerCase() === 'true' : v),
    z.boolean('must be true or false'),
  );

/** A connection string, validated by postgres-core's parser (problems never echo the password). */
const connectionString = () =>
  z
    .string('must be a string')
    .min(1, 'is required')
    .superRefine((cs, ctx) => {
      try {
        parseConnectionString(cs);
      } catch (e) {
        if (!(e instanceof InvalidConnectionStringError)) throw e;
        for (const p of e.problems) ctx.addIssue({ code: 'custom', message: `${p.path}: ${p.message}` });
      }
    });

/** Log levels pino knows. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Fields of the `Worker` section. */
const WorkerSection = z
  .object({
    /** Recorded as `locked_by` on claimed deliveries (default `<hostname>-<pid>`). */
    workerId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 letters, digits, ".", "_", ":" or "-"')
      .optional(),
    /** Address of the health/metrics HTTP server (default loopback). */
    httpHost: z.string().min(1, 'is required').default('127.0.0.1'),
    /** Port of the health/metrics HTTP server; 0 picks a free one (logged). */
    httpPort: int(0, 65_535).default(8080),
    /** Apply Notify's pending migrations at start, as the owner role (`MigrationConnectionString`). */
    migrateOnStart: bool().default(false),
    /** Owner role's DIRECT connection (not PgBouncer): needed when `MigrateOnStart` is true. */
    migrationConnectionString: connectionString().optional(),
    /** Bound on waiting for another replica's migration lock, seconds. */
    migrationLockWaitSeconds: int(1, 3_600).default(60),
    /** Most deliveries in flight at once (claimed in batches up to this). */
    batchSize: int(1, 500).default(20),
    /** Lease of a claim, seconds: after it an unfinished delivery is due again for any worker. */
    leaseSeconds: int(5, 3_600).default(60),
    /** Pause between claims when the queue is empty, milliseconds. */
    pollIntervalMs: int(10, 60_000).default(1_000),
    /** Timeout of one webhook call, seconds (must be shorter than the lease). */
    deliveryTimeoutSeconds: int(1, 600).default(10),
    /** On SIGTERM, how long in-flight deliveries may finish before they are released to the queue, seconds. */
    shutdownTimeoutSeconds: int(0, 600).default(20),
    /** Retry backoff after a failed attempt: `min(MaxSeconds, BaseSeconds · 2^(attempt−1))`. */
    backoff: z
      .object({ baseSeconds: int(1, 86_400).default(10), maxSeconds: int(1, 86_400).default(3_600) })
      .strict()
      .prefault({}),
    /** Seconds a readiness answer is reused (readiness asks the database and the migrator). */
    readinessCacheSeconds: int(0, 300).default(2),
    /** pino level. */
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .strict();

/**
 * The `Worker` configuration section (`Worker__BatchSize=20`, keys
 * case-insensitive). Everything about the database itself lives in the
 * `Postgres` section, read by postgres-core.
 *
 * @example
 * ```ts
 * const worker = WorkerOptionsSchema.parse({ batchSize: '5', migrateOnStart: 'true', migrationConnectionString: 'Host=db;Username=stellaops_owner;Password=…' });
 * ```
 */
export const WorkerOptionsSchema = WorkerSection.superRefine((o, ctx) => {
  if (o.migrateOnStart && !o.migrationConnectionString) {
    ctx.addIssue({
      code: 'custom',
      path: ['migrationConnectionString'],
      message: 'is required when Worker.MigrateOnStart is true (the owner role, direct to PostgreSQL)',
    });
  }
  if (o.deliveryTimeoutSeconds >= o.leaseSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['deliveryTimeoutSeconds'],
      message: `must be shorter than Worker.LeaseSeconds (${o.leaseSeconds}), or another worker may deliver the same notification while this one still waits`,
    });
  }
  if (o.backoff.baseSeconds > o.backoff.maxSeconds) {
    ctx.addIssue({ code: 'custom', path: ['backoff', 'baseSeconds'], message: 'must be <= Worker.Backoff.MaxSeconds' });
  }
}).transform((o) => ({
  ...o,
  workerId:
    o.workerId ??
    `${hostname()
      .replace(/[^A-Za-z0-9._:-]/g, '-')
      .slice(0, 80)}-${process.pid}`,
}));

/** The validated `Worker` section. */
export type WorkerOptions = z.output<typeof WorkerOptionsSchema>;

/** Canonical keys of the `Worker` section (case-insensitive matching of configuration keys). */
export const WORKER_KEYS: Record<string, unknown> = {
  ...Object.fromEntries(Object.keys(WorkerSection.shape).map((k) => [k, true])),
  backoff: { baseSeconds: true, maxSeconds: true },
};
