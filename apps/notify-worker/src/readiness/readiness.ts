import type { SchemaMigrator, StatusReport } from '@stellaops/migrator';
import { checkHealth, type HealthCheckResult, type HealthTarget } from '@stellaops/postgres-core';
import { tenantProofRejectedReason, type TenantProofState } from './tenant-proof.js';

/** Answer of `/readyz`. */
export interface ReadinessReport {
  /** Database reachable and every migration of the source applied. */
  ready: boolean;
  /** Why not, when not ready. */
  reasons: string[];
  /** postgres-core's `checkHealth` (`select 1` through the worker's pool). */
  database: HealthCheckResult;
  /** The migrator's view: counts by state, pending ids (absent when it could not be read). */
  migrations?: { counts: StatusReport['counts']; pending: string[] };
  /** Whether the database accepts the configured tenant key (absent when not checked or the probe could not run). */
  tenantProof?: TenantProofState;
}

/** The tenant key check of {@link Readiness}: the key id (for the reason) and the probe (`probeTenantProof`). */
export interface TenantProofCheck {
  /** The configured key id (`Postgres__TenantKeyId`), named in the reason; never the key. */
  keyId: string;
  /** One tenant-scoped `current_tenant()` probe. */
  probe: () => Promise<TenantProofState>;
}

/** Migration states that mean "this worker's code expects a schema the database does not have". */
const NOT_CURRENT = ['pending', 'out-of-order', 'drifted', 'missing', 'unverified'] as const;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * Readiness: the database answers through the worker's own pool AND the
 * migrator's `status()` (read as the worker role, which may read
 * `notify._migrations` since Notify's V003) says every migration this build
 * knows is applied with a matching checksum (`future` ones — a newer release
 * migrated — are fine) AND, with `tenantProof`, the database accepts the
 * configured tenant key (a key removed while running would otherwise turn
 * every delivery into a dead letter). Answers are reused for `cacheMs` so
 * frequent probes cost one check.
 *
 * @example
 * ```ts
 * const readiness = new Readiness(ds, new SchemaMigrator({ connectionString, ...migrations }), { cacheMs: 2000, timeoutMs: 3000 });
 * const { ready } = await readiness.check();
 * ```
 */
export class Readiness {
  readonly #pool: HealthTarget;
  readonly #migrator: SchemaMigrator;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  readonly #tenantProof: TenantProofCheck | undefined;
  #last: { at: number; report: Promise<ReadinessReport> } | undefined;

  /**
   * @param pool the worker's data source (or pool)
   * @param migrator Notify's migrator on the worker's connection (status only)
   * @param options `cacheMs` reuse window, `timeoutMs` bound of each check, `tenantProof` the tenant key check
   */
  constructor(
    pool: HealthTarget,
    migrator: SchemaMigrator,
    options: { cacheMs: number; timeoutMs: number; tenantProof?: TenantProofCheck },
  ) {
    this.#pool = pool;
    this.#migrator = migrator;
    this.#cacheMs = options.cacheMs;
    this.#timeoutMs = options.timeoutMs;
    this.#tenantProof = options.tenantProof;
  }

  /** The current readiness (cached for `cacheMs`). Never throws. */
  check(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.#last && now - this.#last.at < this.#cacheMs) return this.#last.report;
    const report = this.#evaluate();
    this.#last = { at: now, report };
    return report;
  }

  async #evaluate(): Promise<ReadinessReport> {
    const reasons: string[] = [];
    const [database, status, tenantProof] = await Promise.all([
      checkHealth(this.#pool, { timeoutMs: this.#timeoutMs }),
      withTimeout(this.#migrator.status(), this.#timeoutMs, 'migration status').then(
        (s) => s,
        (e: unknown) => e as Error,
      ),
      this.#tenantProof
        ? withTimeout(this.#tenantProof.probe(), this.#timeoutMs, 'tenant key check').then(
            (s) => s,
            (e: unknown) => e as Error,
          )
        : undefined,
    ]);
    if (database.status !== 'healthy') reasons.push(`database: ${database.error ?? 'unhealthy'}`);
    let migrations: ReadinessReport['migrations'];
    if (status instanceof Error) {
      reasons.push(`migrations: status unreadable (${status.name}: ${status.message})`);
    } else {
      const pending = status.migrations
        .filter((m) => (NOT_CURRENT as readonly string[]).includes(m.state))
        .map((m) => `${m.id} (${m.state})`);
      migrations = { counts: status.counts, pending };
      if (!status.initialized) reasons.push(`migrations: schema ${status.schema} not migrated`);
      else if (pending.length > 0) reasons.push(`migrations: not current: ${pending.join(', ')}`);
    }
    if (tenantProof instanceof Error) reasons.push(`tenant key: not checked (${tenantProof.name}: ${tenantProof.message})`);
    else if (tenantProof === 'rejected') reasons.push(tenantProofRejectedReason(this.#tenantProof!.keyId));
    return {
      ready: reasons.length === 0,
      reasons,
      database,
      ...(migrations ? { migrations } : {}),
      ...(tenantProof !== undefined && !(tenantProof instanceof Error) ? { tenantProof } : {}),
    };
  }
}
