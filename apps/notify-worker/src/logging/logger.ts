import { redactConnectionString, type PostgresOptions } from '@stellaops/postgres-core';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { WorkerOptions } from '../config/worker-options.js';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, wherever they appear in a logged
 * object (one or two levels deep): connection strings, passwords, keys.
 * Connection strings the worker logs on purpose go through postgres-core's
 * `redactConnectionString` first; this list is the safety net.
 */
export const REDACTED_KEYS = [
  'connectionString',
  'migrationConnectionString',
  'password',
  'tenantKey',
  'previousTenantKey',
  'key',
  'cert',
  'ca',
  'authorization',
  'headers',
];

/**
 * The service's JSON logger (pino): one JSON object per line on stdout,
 * ISO timestamps, `service` and `workerId` on every line, secrets censored.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'info', workerId: 'w1' });
 * log.info({ batch: 3 }, 'claimed');
 * ```
 */
export function createLogger(options: { level: string; workerId?: string; destination?: DestinationStream }): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    {
      level: options.level,
      base: { service: 'notify-worker', pid: process.pid, ...(options.workerId ? { workerId: options.workerId } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * What the worker says about its configuration at start: where it connects
 * (password replaced by `***` by postgres-core), how, and its own settings.
 * TLS material and keys are reported only as present or absent.
 */
export function describeConfig(postgres: PostgresOptions, worker: WorkerOptions): Record<string, unknown> {
  return {
    database: redactConnectionString(postgres.connectionString),
    poolerMode: postgres.poolerMode,
    poolMax: postgres.pool.max,
    tlsMode: postgres.tls.mode ?? 'from connection string',
    tlsCa: Boolean(postgres.tls.ca ?? postgres.tls.caFile),
    commandTimeoutSeconds: postgres.commandTimeoutSeconds,
    tenantKeyId: postgres.tenantKeyId, // the id only: the key itself is never logged
    previousTenantKeyId: postgres.previousTenantKeyId, // during a key rotation only; again the id, never the key
    workerId: worker.workerId,
    http: `${worker.httpHost}:${worker.httpPort}`,
    migrateOnStart: worker.migrateOnStart,
    migrationDatabase: worker.migrationConnectionString ? redactConnectionString(worker.migrationConnectionString) : undefined,
    batchSize: worker.batchSize,
    leaseSeconds: worker.leaseSeconds,
    pollIntervalMs: worker.pollIntervalMs,
    deliveryTimeoutSeconds: worker.deliveryTimeoutSeconds,
    shutdownTimeoutSeconds: worker.shutdownTimeoutSeconds,
    backoff: worker.backoff,
  };
}
