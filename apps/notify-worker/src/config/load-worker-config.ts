import {
  ConfigurationError,
  loadPersistenceOptions,
  type ConfigProblem,
  type PersistenceOptions,
  type PostgresOptions,
} from '@stellaops/postgres-core';
import type { z } from 'zod';
import { canonicalKeys, readSection, type ConfigSources } from './config-sources.js';
import { WORKER_KEYS, WorkerOptionsSchema, type WorkerOptions } from './worker-options.js';

/** Everything the worker needs, validated. */
export interface WorkerConfig {
  /** The `Worker` section. */
  worker: WorkerOptions;
  /** postgres-core's persistence options as loaded (Notify is on Postgres). */
  persistence: PersistenceOptions;
  /**
   * The `Postgres` section exactly as postgres-core validated it. The worker
   * passes it on whole (to the data source and the readiness check), so a key
   * postgres-core adds (e.g. `Postgres__TenantKey`) reaches the data source
   * without a change here.
   */
  postgres: PostgresOptions;
}

function zodProblems(error: z.ZodError, root: string): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map((p) => (typeof p === 'string' ? p[0]!.toUpperCase() + p.slice(1) : String(p)))].join('.');
    if (issue.code === 'unrecognized_keys') return { path, message: `unknown setting(s): ${issue.keys.join(', ')}` };
    if (issue.code === 'invalid_value') return { path, message: 'invalid value', allowed: issue.values.map(String) };
    if (issue.code === 'invalid_type' && issue.input === undefined) return { path, message: 'is required' };
    return { path, message: issue.message };
  });
}

/** The worker reads each delivery's channel in the delivery's tenant session: without the key every such read throws. */
const TENANT_KEY_REQUIRED: ConfigProblem = {
  path: 'Postgres.TenantKey',
  message:
    'is required: the worker reads channels in tenant sessions, which prove their tenant with this key (set Postgres__TenantKey to the secret installed in the database, e.g. `stella-db url --tenant-key`, and Postgres__TenantKeyId to its id)',
};

/**
 * Whether a tenant key is configured: from postgres-core's result, or — when it
 * rejected something else — from the raw `Postgres` section, so that a missing
 * key is listed together with every other problem.
 */
function hasTenantKey(persistence: PersistenceOptions | undefined, sources: ConfigSources): boolean {
  if (persistence?.postgres) return persistence.postgres.tenantKey !== undefined;
  const raw = Object.entries(readSection('Postgres', sources, [])).find(([k]) => k.toLowerCase() === 'tenantkey')?.[1];
  return raw !== undefined && raw !== null; // a value postgres-core rejected is already listed with its reason
}

/**
 * Loads and validates the worker's configuration from `appsettings.json`,
 * `appsettings.{Environment}.json` and environment variables: the `Persistence`
 * and `Postgres` sections through postgres-core's `loadPersistenceOptions`, the
 * `Worker` section here. `Postgres.TenantKey` is required (the worker runs
 * tenant sessions to read channels). Problems of all sections are collected and
 * thrown together; nothing is returned partially.
 *
 * @throws `ConfigurationError` listing every problem (paths and reasons, never values that could be secrets)
 * @example
 * ```ts
 * const config = loadWorkerConfig({ configDir: process.cwd() });
 * config.worker.batchSize; // 20
 * ```
 */
export function loadWorkerConfig(sources: ConfigSources = {}): WorkerConfig {
  const problems: ConfigProblem[] = [];
  let persistence: PersistenceOptions | undefined;
  try {
    persistence = loadPersistenceOptions({
      configDir: sources.configDir,
      env: sources.env ?? process.env,
      ...(sources.environment !== undefined ? { environment: sources.environment } : {}),
      ...(sources.envPrefix !== undefined ? { envPrefix: sources.envPrefix } : {}),
    });
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    problems.push(...e.problems);
  }
  const raw = canonicalKeys(readSection('Worker', sources, problems), WORKER_KEYS);
  const parsed = WorkerOptionsSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, 'Worker'));
  // Judged on the raw section too, so that it is listed even when postgres-core rejected something else.
  const rawNotify = Object.entries(readSection('Persistence', sources, [])).find(([k]) => k.toLowerCase() === 'notify')?.[1];
  const notifyOnPostgres = persistence
    ? persistence.persistence.Notify === 'Postgres'
    : (typeof rawNotify === 'string' ? rawNotify : '').trim().toLowerCase() === 'postgres';
  if (!notifyOnPostgres) {
    problems.push({
      path: 'Persistence.Notify',
      message: 'must be Postgres: the notify worker drains the PostgreSQL delivery queue',
      allowed: ['Postgres'],
    });
  } else if (persistence && !persistence.postgres) {
    problems.push({ path: 'Postgres.ConnectionString', message: 'is required' });
  }
  // Whatever else is wrong: the worker never runs without it, so it is part of the full list.
  if (!hasTenantKey(persistence, sources)) problems.push(TENANT_KEY_REQUIRED);
  // The same unreadable file is reported by both readers: once is enough.
  const unique = problems.filter((p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i);
  if (unique.length > 0 || !persistence?.postgres || !parsed.success) throw new ConfigurationError(unique);
  return { worker: parsed.data, persistence, postgres: persistence.postgres };
}
