import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ClusterStateError } from './errors.js';

/** Non-secret state of a cluster (`cluster.json`). */
export interface ClusterState {
  /** Format version. */
  version: 1;
  /** Ports by component: `postgres`, `pgbouncer`, and any a later component allocated (see `ClusterContext.allocatePort`). */
  ports: { postgres: number; pgbouncer: number } & Record<string, number>;
  /** The memory target the settings are computed for. */
  memoryBytes: number;
  overrides: Record<string, string>;
  /** True between `up` and `down`: a component found dead while this is set has crashed. */
  up: boolean;
  /** PgBouncer's reset after each transaction (absent: `driver`); see {@link PoolerReset}. */
  poolerReset?: PoolerReset;
  /** The monitoring component's saved choices (absent before its first `up`). */
  monitoring?: {
    mode: MonitoringMode;
    /** Extra Prometheus scrape jobs (`--scrape`). */
    scrape: { job: string; targets: string[]; metricsPath?: string }[];
    scrapeIntervalSeconds: number;
  };
}

/**
 * Who cleans a server connection between two clients' transactions behind PgBouncer:
 * - `driver` (default): the data layer does, inside each unit's own transaction (postgres-core's
 *   in-transaction cleanup after untrusted SQL, proven by its attack suite without a reset query);
 *   PgBouncer runs `server_reset_query` only when a client disconnects, as its docs advise for
 *   transaction pooling. Clients that are not the data layer must not use session features.
 * - `always`: PgBouncer also runs `DISCARD ALL` after every transaction
 *   (`server_reset_query_always = 1`): for poolers that serve other clients too; costs about a
 *   quarter of the pooler's throughput on 2 cores (`pnpm bench cluster`, reset_always_cost_ratio).
 */
export type PoolerReset = 'driver' | 'always';

/** The {@link PoolerReset} values, for parsing flags. */
export const POOLER_RESET_MODES: readonly PoolerReset[] = ['driver', 'always'];

/** `auto`: on when the Debian packages are installed; `on`: required; `off`: not started. */
export type MonitoringMode = 'auto' | 'on' | 'off';

/** Generated passwords (`secrets.json`, 0600): created once, never rotated by a rerun. */
export interface ClusterSecrets {
  /** PostgreSQL superuser `postgres`. */
  superuser: string;
  /** PostgreSQL login roles by name (owner, app, module roles). */
  roles: Record<string, string>;
  /** PgBouncer console users (admin, stats) by name. */
  pgbouncer: Record<string, string>;
  /**
   * The tenant key services sign tenant ids with (`Postgres__TenantKey`, id
   * `Postgres__TenantKeyId`), installed in `stellaops_security.tenant_keys`;
   * generated once by `stella-db cluster up`, never rotated by a rerun.
   */
  tenantKey?: { keyId: string; key: string };
}

/** A fresh random password (24 url-safe characters). */
export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Reads a JSON file; undefined when missing; a clear error when it is not valid JSON. */
export function readJson<T>(file: string, what: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (cause) {
    throw new ClusterStateError(
      `${file} (${what}) is not valid JSON. Nothing was changed. Fix: restore it from a backup, or run "stella-db cluster down" and move the cluster folder away to start an empty cluster.`,
      { cause },
    );
  }
}

/** Writes a JSON file atomically with `mode`. */
export function writeJson(file: string, value: unknown, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode, flag: 'w' });
  renameSync(tmp, file);
}
