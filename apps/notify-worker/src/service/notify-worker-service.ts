import { migrateOnStart, SchemaMigrator } from '@stellaops/migrator';
import { DeliveryQueue, migrations, WORKER_ROLE, type DB, type QueueDepth } from '@stellaops/module-notify';
import {
  buildPoolConfig,
  createDataSource,
  isRetryableError,
  registerPoolMetrics,
  SECURITY_SCHEMA,
  securityMigrations,
  type PostgresDataSource,
} from '@stellaops/postgres-core';
import { sql } from 'kysely';
import { WebhookSender } from '../channels/webhook-sender.js';
import type { WorkerConfig } from '../config/load-worker-config.js';
import { OpsServer } from '../http/ops-server.js';
import { describeConfig, type Logger } from '../logging/logger.js';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import { Readiness } from '../readiness/readiness.js';
import { probeTenantProof } from '../readiness/tenant-proof.js';
import { DeliveryWorker } from '../worker/delivery-worker.js';
import { StartupError, TenantProofRejectedError } from './startup-errors.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}

/**
 * The notify worker: operations HTTP server first (liveness answers at once,
 * readiness says why it is not ready yet), then — when `MigrateOnStart` — postgres-core's
 * `securityMigrations` (schema `stellaops_security`) and Notify's migrations as the
 * owner role (bounded lock wait each, failure stops the start),
 * then the worker role's data source, a check that the configured role may claim
 * across tenants, a check that the database accepts the configured tenant key
 * (one tenant-scoped `current_tenant()` probe), and the delivery loop.
 *
 * @example
 * ```ts
 * const service = new NotifyWorkerService(loadWorkerConfig(), log);
 * await service.start();
 * process.once('SIGTERM', () => void service.stop().then(() => process.exit(0)));
 * ```
 */
export class NotifyWorkerService {
  readonly #config: WorkerConfig;
  readonly #log: Logger;
  readonly #ds: PostgresDataSource<DB>;
  readonly #metrics: WorkerMetrics;
  readonly #readiness: Readiness;
  #ops: OpsServer | undefined;
  #worker: DeliveryWorker | undefined;
  #started = false;
  #stopping = false;

  /**
   * @param config validated configuration (`loadWorkerConfig`)
   * @param log the service's logger
   */
  constructor(config: WorkerConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    // The Postgres section goes to postgres-core as validated: every key it knows (pooler mode, TLS, timeouts…) applies.
    this.#ds = createDataSource<DB>(config.postgres, { module: 'Notify', logger: log.child({ component: 'postgres' }) });
    const queue = new DeliveryQueue(this.#ds.db);
    this.#metrics = new WorkerMetrics(() => withTimeout<QueueDepth>(queue.depth(), 2_000));
    registerPoolMetrics(this.#ds, this.#metrics.registry);
    // The migrator's status session uses the same TLS settings as the pool (CA file, mode), through the pooler if any.
    const { ssl } = buildPoolConfig(config.postgres);
    const statusMigrator = new SchemaMigrator({
      connectionString: config.postgres.connectionString,
      ...migrations,
      applicationName: 'notify-worker-readiness',
      ...(ssl !== undefined ? { ssl } : {}),
    });
    this.#readiness = new Readiness(this.#ds, statusMigrator, {
      cacheMs: config.worker.readinessCacheSeconds * 1000,
      timeoutMs: 3_000,
      tenantProof: { keyId: config.postgres.tenantKeyId, probe: () => probeTenantProof(this.#ds) },
    });
  }

  /** Port of the operations HTTP server (after {@link start}). */
  get port(): number {
    if (!this.#ops) throw new Error('not started');
    return this.#ops.port;
  }

  /** The metrics (tests, embedding). */
  get metrics(): WorkerMetrics {
    return this.#metrics;
  }

  /**
   * Starts everything. Resolves once the delivery loop runs.
   *
   * @throws {@link StartupError} when migrating fails or the configured role cannot claim across tenants
   * @throws {@link TenantProofRejectedError} when the database does not accept the configured tenant key
   */
  async start(): Promise<void> {
    const { worker } = this.#config;
    this.#log.info({ config: describeConfig(this.#config.postgres, worker) }, 'notify worker starting');
    this.#ops = await OpsServer.listen(worker.httpHost, worker.httpPort, {
      readiness: () => this.#readinessNow(),
      registry: this.#metrics.registry,
    });
    this.#log.info({ host: worker.httpHost, port: this.#ops.port }, 'operations endpoints listening (/healthz, /readyz, /metrics)');
    if (worker.migrateOnStart) await this.#migrate();
    await this.#checkRole();
    await this.#checkTenantProof();
    if (this.#stopping) return;
    this.#worker = new DeliveryWorker({
      ds: this.#ds,
      options: worker,
      sender: new WebhookSender({ timeoutMs: worker.deliveryTimeoutSeconds * 1000 }),
      metrics: this.#metrics,
      log: this.#log.child({ component: 'deliveries' }),
    });
    this.#worker.start();
    this.#started = true;
    this.#log.info({ workerId: worker.workerId, batchSize: worker.batchSize }, 'draining the notify delivery queue');
  }

  /**
   * Graceful stop: readiness turns false, claiming stops, in-flight deliveries
   * finish or are released, then the HTTP server and the pool close.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#log.info({ inFlight: this.#worker?.inFlight ?? 0 }, 'stopping: no new claims');
    await this.#worker?.stop();
    await this.#ops?.close();
    await this.#ds.close();
    this.#log.info({}, 'notify worker stopped');
  }

  async #readinessNow() {
    if (this.#stopping) {
      this.#metrics.ready.set(0);
      return { ready: false, reasons: ['stopping'], database: { status: 'unhealthy' as const, durationMs: 0, error: 'stopping' } };
    }
    const r = await this.#readiness.check();
    const ready = r.ready && this.#started;
    this.#metrics.ready.set(ready ? 1 : 0);
    return ready || this.#started ? r : { ...r, ready: false, reasons: [...r.reasons, 'starting'] };
  }

  async #migrate(): Promise<void> {
    const { worker } = this.#config;
    try {
      // postgres-core's frozen security set first: Notify's policies call stellaops_security.current_tenant() and session_tag().
      await migrateOnStart({
        connectionString: worker.migrationConnectionString!,
        schema: SECURITY_SCHEMA,
        migrations: securityMigrations,
        lockWaitMs: worker.migrationLockWaitSeconds * 1000,
        applicationName: 'notify-worker-migrate',
        logger: this.#log.child({ component: 'migrator' }),
      });
      await migrateOnStart({
        connectionString: worker.migrationConnectionString!,
        ...migrations,
        lockWaitMs: worker.migrationLockWaitSeconds * 1000,
        applicationName: 'notify-worker-migrate',
        logger: this.#log.child({ component: 'migrator' }),
      });
    } catch (e) {
      throw new StartupError('MIGRATION_FAILED', `migrating Notify at start failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }

  /**
   * The configured role must be (a member of) Notify's worker role: only it
   * sees every tenant's due deliveries. The app role would claim nothing — a
   * silent no-op — so that is refused here. Connection failures are retried
   * until the database answers or the service is stopped.
   */
  async #checkRole(): Promise<void> {
    for (let attempt = 0; !this.#stopping; attempt++) {
      let row: { role: string; member: boolean | null } | undefined;
      try {
        const r = await sql<{ role: string; member: boolean | null }>`select current_user::text as role,
          (select pg_has_role(current_user, r.oid, 'usage') from pg_roles r where r.rolname = ${WORKER_ROLE}) as member`.execute(
          this.#ds.db,
        );
        row = r.rows[0];
      } catch (e) {
        const wait = Math.min(5_000, 250 * 2 ** attempt);
        this.#log.warn(
          { err: { name: (e as Error).name, message: (e as Error).message }, retryInMs: wait },
          'database not reachable yet; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (row?.member === null || row === undefined) {
        throw new StartupError(
          'SCHEMA_MISSING',
          `role ${WORKER_ROLE} does not exist: migrate Notify first (Worker__MigrateOnStart=true or stella-db migrate up --module notify)`,
        );
      }
      if (!row.member) {
        throw new StartupError(
          'WRONG_ROLE',
          `connected as ${row.role}, which is not ${WORKER_ROLE}: only that role may claim deliveries across tenants (the app role sees none without a tenant). ` +
            `Connect Postgres.ConnectionString as ${WORKER_ROLE} (or a role granted it).`,
        );
      }
      return;
    }
  }

  /**
   * The database must accept the configured tenant key: with a key id that is
   * not installed there (or another secret under it) `current_tenant()` is
   * NULL in every tenant session, the channel reads find nothing and every
   * delivery would be dead-lettered. Refused here, naming the key id and the
   * fix, never the key. A lost connection is retried like in the role check.
   */
  async #checkTenantProof(): Promise<void> {
    for (let attempt = 0; !this.#stopping; attempt++) {
      let state;
      try {
        state = await probeTenantProof(this.#ds);
      } catch (e) {
        if (!isRetryableError(e)) {
          throw new StartupError(
            'TENANT_PROOF_CHECK_FAILED',
            `could not check the tenant key with stellaops_security.current_tenant(): ${(e as Error).message}. ` +
              "Migrate postgres-core's security set and Notify first (Worker__MigrateOnStart=true, or stella-db up).",
            { cause: e },
          );
        }
        const wait = Math.min(5_000, 250 * 2 ** attempt);
        this.#log.warn(
          { err: { name: (e as Error).name, message: (e as Error).message }, retryInMs: wait },
          'tenant key check failed; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (state === 'rejected') throw new TenantProofRejectedError(this.#config.postgres.tenantKeyId);
      this.#log.info({ tenantKeyId: this.#config.postgres.tenantKeyId }, 'tenant key accepted by the database');
      return;
    }
  }
}
