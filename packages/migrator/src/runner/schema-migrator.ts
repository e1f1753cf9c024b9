import { captureSql, renderRecordedQueries } from '../capture/capture-sql.js';
import { computeMigrationsHash } from '../checksum/migrations-hash.js';
import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import { MigrationFailedError } from '../errors/migration-failed-error.js';
import { silentLogger, type MigratorLogger } from '../logging/logger.js';
import type { ResolvedMigration, ResolvedStep } from '../migration/migration.js';
import { analyze, type Analysis, type MigrationState } from '../planning/analyze.js';
import { planDown, type PlanDownOptions } from '../planning/plan-down.js';
import { planUp, type PlanUpOptions } from '../planning/plan-up.js';
import { MigrationLock } from '../session/migration-lock.js';
import { MigrationSession, type SessionOptions } from '../session/migration-session.js';
import type { MigrationSource } from '../source/migration-source.js';
import { resolveMigrations } from '../source/resolve-migrations.js';
import { addTrackingColumns } from '../sql/add-tracking-columns.js';
import { createSchema } from '../sql/create-schema.js';
import { createTrackingTable, TRACKING_EXTRA_COLUMNS } from '../sql/create-tracking-table.js';
import { selectAppliedMigrations } from '../sql/select-applied-migrations.js';
import { selectTrackingState } from '../sql/select-tracking-state.js';
import { updateAppliedChecksum } from '../sql/update-applied-checksum.js';
import { applyMigration } from './apply-migration.js';
import { stepFailureOf } from './execute-step.js';
import type { MigrationResult, RunReport } from './migration-result.js';
import type { MigratorEvent } from './migrator-event.js';
import type { AcceptReport, PlannedMigration, PlanReport, StatusReport, VerifyReport } from './reports.js';

/** Options of a `SchemaMigrator`. */
export interface SchemaMigratorOptions {
  /** Direct connection to PostgreSQL: `postgres://` URL or Npgsql keyword string. Not a pooler. */
  connectionString: string;
  /** The module's schema; the tracking table lives in it. */
  schema: string;
  /** The migrations. */
  migrations: MigrationSource;
  /** Tracking table name (default `_migrations`). */
  table?: string;
  /** Bound on waiting for the migration lock, ms (default 60 000). */
  lockWaitMs?: number;
  /** `lock_timeout` for migration statements, ms (default 5 000; 0 = none). */
  lockTimeoutMs?: number;
  /** Retries of a transactional migration after a `lock_timeout` (default 3). */
  lockRetries?: number;
  /** First retry delay, ms (default 250, doubling). */
  retryDelayMs?: number;
  /** Apply pending migrations older than the newest applied one (default false). */
  allowOutOfOrder?: boolean;
  /** Tolerate applied migrations missing from the source (default false). */
  ignoreMissing?: boolean;
  /**
   * Let `up`/`down`/`accept` run through a connection pooler (default false:
   * refused with `PoolerDetectedError`). Only for a proxy that pins one server
   * connection per client for the whole session (PgBouncer `pool_mode =
   * session`); with transaction pooling the advisory lock can be left held.
   */
  allowPooler?: boolean;
  /** Recorded as `applied_by` (default: the database `current_user`). */
  appliedBy?: string;
  /** `application_name` of the session (default `stella-migrator`). */
  applicationName?: string;
  /**
   * TLS settings of the session (node-pg `ssl`, e.g. postgres-core's
   * `buildPoolConfig(options).ssl`, which reads a CA file); when given they
   * replace the connection string's `sslmode`.
   */
  ssl?: SessionOptions['ssl'];
  /** Pino-compatible logger (default silent). */
  logger?: MigratorLogger;
  /** Progress events. */
  onEvent?: (event: MigratorEvent) => void;
}

const TABLE = '_migrations';

/**
 * Runs one module's migrations against its schema. Each migration commits in
 * its own transaction together with its tracking row; runs are serialized
 * across processes by a polled advisory lock; checksums, order and missing
 * migrations are validated before anything runs.
 *
 * Built on Kysely's migration model (`up(db)`/`down(db)`, `MigrationProvider`,
 * the `name`/`timestamp` tracking columns) but drives its own loop: Kysely's
 * `Migrator` runs all pending migrations in one transaction, has no
 * per-migration no-transaction mode, and takes a blocking session lock.
 *
 * @example
 * const migrator = new SchemaMigrator({ connectionString, schema: 'authority', migrations: { directory: new URL('../migrations', import.meta.url) } });
 * await migrator.up();
 */
export class SchemaMigrator {
  private resolved: Promise<ResolvedMigration[]> | undefined;
  private readonly table: string;
  private readonly log: MigratorLogger;

  /** @param options connection, schema, migrations and behaviour */
  constructor(private readonly options: SchemaMigratorOptions) {
    if (!/^[^\0]{1,63}$/.test(options.schema)) throw new InvalidMigrationError(`invalid schema name ${JSON.stringify(options.schema)}`);
    this.table = options.table ?? TABLE;
    this.log = options.logger ?? silentLogger;
  }

  /** The schema this migrator manages. */
  get schema(): string {
    return this.options.schema;
  }

  /** The validated migrations, in order (loaded once). */
  migrations(): Promise<ResolvedMigration[]> {
    this.resolved ??= resolveMigrations(this.options.migrations);
    return this.resolved;
  }

  /** Combined checksum of the migration set (see `computeMigrationsHash`). */
  async hash(): Promise<string> {
    return computeMigrationsHash(this.schema, this.table, await this.migrations());
  }

  /** Every migration's state. Read-only: creates nothing, takes no lock. */
  async status(): Promise<StatusReport> {
    const { analysis, initialized } = await this.readOnly();
    const counts = { applied: 0, unverified: 0, drifted: 0, pending: 0, 'out-of-order': 0, missing: 0, future: 0 } satisfies Record<MigrationState, number>;
    for (const e of analysis.entries) counts[e.state]++;
    return { schema: this.schema, table: this.table, initialized, migrations: analysis.entries, counts };
  }

  /** Whether the database matches the source (nothing pending, drifted, missing). Read-only. */
  async verify(): Promise<VerifyReport> {
    const { analysis } = await this.readOnly();
    const report: VerifyReport = {
      schema: this.schema,
      ok: false,
      pending: analysis.pending.map((m) => m.id),
      outOfOrder: analysis.outOfOrder.map((m) => m.id),
      drifted: analysis.drifted.map((d) => ({ id: d.migration.id, appliedChecksum: d.appliedChecksum, currentChecksum: d.migration.checksum })),
      missing: analysis.missing,
      unverified: analysis.entries.filter((e) => e.state === 'unverified').map((e) => e.id),
    };
    report.ok = report.pending.length + report.drifted.length + report.missing.length + report.unverified.length === 0;
    return report;
  }

  /**
   * The SQL `up` (or `down`) would run, per migration, without changing
   * anything: SQL text as is; Kysely steps through a recording dry run.
   * Throws what `up`/`down` would throw before running (drift, order…).
   */
  async plan(options: ({ direction?: 'up' } & PlanUpOptions) | ({ direction: 'down' } & PlanDownOptions) = {}): Promise<PlanReport> {
    const migrations = await this.migrations();
    const { analysis } = await this.readOnly();
    const direction = options.direction ?? 'up';
    const list = options.direction === 'down' ? planDown(migrations, analysis, options) : planUp(migrations, analysis, this.upOptions(options as PlanUpOptions));
    const planned: PlannedMigration[] = [];
    for (const m of list) {
      const step = (direction === 'up' ? m.up : m.down) as ResolvedStep;
      planned.push({
        id: m.id,
        description: m.description,
        transaction: m.transaction,
        checksum: m.checksum,
        checksumSource: m.checksumSource,
        ...(await describeStep(step)),
      });
    }
    return { schema: this.schema, direction, migrations: planned };
  }

  /**
   * Applies pending migrations (up to `to`). Returns the run's results; throws
   * `MigrationFailedError` (with `results`) when one fails, or the validation
   * error that stopped the run before anything ran.
   */
  async up(options: PlanUpOptions = {}): Promise<RunReport> {
    return this.run('up', (migrations, analysis) => planUp(migrations, analysis, this.upOptions(options)));
  }

  /**
   * Rolls back applied migrations (after `to`, the last `steps`, or `all`),
   * newest first, each in its own transaction with its tracking row. Refuses
   * before touching anything when one in range has no `down`.
   */
  async down(options: PlanDownOptions): Promise<RunReport> {
    return this.run('down', (migrations, analysis) => planDown(migrations, analysis, options));
  }

  /**
   * Records the current checksum of drifted (or never checksummed) applied
   * migrations — all of them, or only `ids` — after a reviewed change.
   */
  async accept(ids?: readonly string[]): Promise<AcceptReport> {
    return this.withLock(async (session) => {
      const migrations = await this.migrations();
      const state = await selectTrackingState(session.client, this.schema, this.table);
      const rows = state.tableExists ? await selectAppliedMigrations(session.client, this.schema, this.table) : [];
      const analysis = analyze(migrations, rows);
      const candidates = analysis.entries.filter((e) => e.state === 'drifted' || e.state === 'unverified');
      if (ids) {
        const unknown = ids.filter((id) => !candidates.some((c) => c.id === id));
        if (unknown.length > 0) throw new InvalidMigrationError(`nothing to accept for ${unknown.join(', ')} (not an applied migration whose checksum differs)`);
      }
      const chosen = ids ? candidates.filter((c) => ids.includes(c.id)) : candidates;
      const accepted: AcceptReport['accepted'] = [];
      for (const c of chosen) {
        const m = migrations.find((x) => x.id === c.id) as ResolvedMigration;
        await updateAppliedChecksum(session.client, this.schema, this.table, m.id, m.checksum, m.description);
        accepted.push({ id: m.id, previousChecksum: c.appliedChecksum, checksum: m.checksum });
        this.log.warn({ schema: this.schema, migration: m.id, previousChecksum: c.appliedChecksum, checksum: m.checksum }, 'migration checksum accepted');
      }
      return { schema: this.schema, accepted };
    });
  }

  private upOptions(o: PlanUpOptions): PlanUpOptions {
    return {
      to: o.to,
      allowOutOfOrder: o.allowOutOfOrder ?? this.options.allowOutOfOrder,
      ignoreMissing: o.ignoreMissing ?? this.options.ignoreMissing,
    };
  }

  private emit(e: MigratorEvent): void {
    this.options.onEvent?.(e);
  }

  private async readOnly(): Promise<{ analysis: Analysis; initialized: boolean }> {
    const migrations = await this.migrations();
    const session = await MigrationSession.open(this.options.connectionString, {
      applicationName: this.options.applicationName ?? 'stella-migrator',
      refusePooler: false,
      ...(this.options.ssl !== undefined ? { ssl: this.options.ssl } : {}),
    });
    try {
      const state = await selectTrackingState(session.client, this.schema, this.table);
      const rows = state.tableExists ? await selectAppliedMigrations(session.client, this.schema, this.table, state.columns) : [];
      return { analysis: analyze(migrations, rows), initialized: state.tableExists };
    } finally {
      await session.close();
    }
  }

  private async withLock<T>(
    fn: (session: MigrationSession, lockWaitMs: number) => Promise<T>,
    whileWaiting?: (session: MigrationSession, lockWaitMs: number) => Promise<T | undefined>,
  ): Promise<T> {
    await this.migrations();
    const session = await MigrationSession.open(this.options.connectionString, {
      applicationName: this.options.applicationName ?? 'stella-migrator',
      refusePooler: !this.options.allowPooler,
      lockTimeoutMs: this.options.lockTimeoutMs ?? 5_000,
      ...(this.options.ssl !== undefined ? { ssl: this.options.ssl } : {}),
    });
    const lock = new MigrationLock(session.client, this.schema, `${this.schema}.${this.table}`);
    let early: T | undefined;
    try {
      const { waitedMs, held } = await lock.acquire({
        waitMs: this.options.lockWaitMs ?? 60_000,
        onWait: () => {
          this.log.info({ schema: this.schema }, 'waiting for the migration lock');
          this.emit({ type: 'lock-wait', schema: this.schema });
        },
        ...(whileWaiting
          ? {
              stopWaiting: async () => {
                early = await whileWaiting(session, 0).catch(() => undefined);
                return early !== undefined;
              },
            }
          : {}),
      });
      if (!held) {
        this.log.info({ schema: this.schema, waitedMs: Math.round(waitedMs) }, 'another runner applied every pending migration while this one waited');
        return early as T;
      }
      this.emit({ type: 'lock-acquired', schema: this.schema, waitedMs });
      await this.ensureTracking(session);
      return await fn(session, waitedMs);
    } finally {
      const released = await lock.release().catch(() => false);
      if (!released) this.log.debug({ schema: this.schema }, 'migration lock was not held at release');
      await session.close();
    }
  }

  private async ensureTracking(session: MigrationSession): Promise<void> {
    const state = await selectTrackingState(session.client, this.schema, this.table);
    if (!state.schemaExists) await createSchema(session.client, this.schema);
    if (!state.tableExists) {
      await createTrackingTable(session.client, this.schema, this.table);
      return;
    }
    const missing = Object.fromEntries(Object.entries(TRACKING_EXTRA_COLUMNS).filter(([c]) => !state.columns.includes(c)));
    if (Object.keys(missing).length > 0) await addTrackingColumns(session.client, this.schema, this.table, missing);
  }

  private async run(direction: 'up' | 'down', choose: (m: ResolvedMigration[], a: Analysis) => ResolvedMigration[]): Promise<RunReport> {
    const t0 = performance.now();
    // While another runner holds the lock, an `up` checks (read-only) whether
    // that runner has already applied everything this one would; if so it is
    // done without ever taking the lock (replicas booting together).
    const nothingLeft =
      direction === 'up'
        ? async (session: MigrationSession): Promise<RunReport | undefined> => {
            const state = await selectTrackingState(session.client, this.schema, this.table);
            if (!state.tableExists) return undefined;
            const migrations = await this.migrations();
            const rows = await selectAppliedMigrations(session.client, this.schema, this.table, state.columns);
            const list = choose(migrations, analyze(migrations, rows));
            return list.length === 0 ? { schema: this.schema, direction, results: [], lockWaitMs: performance.now() - t0, durationMs: performance.now() - t0 } : undefined;
          }
        : undefined;
    return this.withLock(async (session, lockWaitMs) => {
      const migrations = await this.migrations();
      const rows = await selectAppliedMigrations(session.client, this.schema, this.table);
      const analysis = analyze(migrations, rows);
      const list = choose(migrations, analysis);
      this.emit({ type: 'planned', schema: this.schema, direction, ids: list.map((m) => m.id) });
      if (analysis.future.length > 0) {
        this.log.warn({ schema: this.schema, future: analysis.future }, 'database has migrations newer than this source (a newer release ran)');
      }
      this.log.info({ schema: this.schema, direction, count: list.length, migrations: list.map((m) => m.id) }, list.length > 0 ? `migration plan: ${list.length} to ${direction === 'up' ? 'apply' : 'roll back'}` : 'schema is up to date');
      const results: MigrationResult[] = list.map((m) => ({ id: m.id, direction, status: 'not-run', inTransaction: m.transaction }));
      const ctx = {
        db: session.client,
        schema: this.schema,
        table: this.table,
        appliedBy: this.options.appliedBy ?? null,
        lockRetries: this.options.lockRetries ?? 3,
        retryDelayMs: this.options.retryDelayMs ?? 250,
        sessionLockTimeoutMs: this.options.lockTimeoutMs ?? 5_000,
        emit: (e: MigratorEvent) => this.emit(e),
      };
      for (let i = 0; i < list.length; i++) {
        const m = list[i] as ResolvedMigration;
        const result = results[i] as MigrationResult;
        this.emit({ type: 'migration-start', id: m.id, direction, index: i, total: list.length });
        const ts = performance.now();
        try {
          const outcome = await applyMigration(ctx, m, direction);
          result.status = direction === 'up' ? 'applied' : 'reverted';
          result.durationMs = outcome.durationMs;
          result.attempts = outcome.attempts;
          this.emit({ type: 'migration-done', id: m.id, direction, index: i, total: list.length, durationMs: outcome.durationMs });
          this.log.debug({ schema: this.schema, migration: m.id, direction, durationMs: Math.round(outcome.durationMs) }, `migration ${m.id} ${result.status}`);
        } catch (error) {
          result.status = 'failed';
          result.durationMs = performance.now() - ts;
          result.attempts = (error as { attempts?: number }).attempts ?? 1;
          const failure = stepFailureOf(error);
          const sqlState = (error as { code?: unknown } | null)?.code;
          const failed = new MigrationFailedError(
            {
              migrationId: m.id,
              direction,
              sqlState: typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? sqlState : undefined,
              position: failure?.position,
              statement: failure?.statement,
              rolledBack: m.transaction,
              results,
            },
            { cause: error },
          );
          this.emit({ type: 'migration-failed', id: m.id, direction, error: failed });
          this.log.error(
            { schema: this.schema, migration: m.id, direction, sqlState: failed.sqlState, position: failed.position, err: error },
            failed.message,
          );
          throw failed;
        }
      }
      const report: RunReport = { schema: this.schema, direction, results, lockWaitMs, durationMs: performance.now() - t0 };
      if (list.length > 0) {
        this.log.info({ schema: this.schema, direction, count: list.length, durationMs: Math.round(report.durationMs) }, `migrations ${direction === 'up' ? 'applied' : 'rolled back'}: ${list.length}`);
      }
      return report;
    }, nothingLeft);
  }
}

async function describeStep(step: ResolvedStep): Promise<Pick<PlannedMigration, 'sql' | 'capture' | 'note'>> {
  if (step.kind === 'sql') return { sql: step.sql, capture: 'full' };
  const c = await captureSql(step.fn);
  const sql = renderRecordedQueries(c.queries);
  if (!c.ok) return { sql, capture: 'partial', note: `dry run stopped: ${c.reason}` };
  const reads = c.queries.filter((q) => /^\s*(select|with|table|values|show)\b/i.test(q.sql)).length;
  if (reads > 0) {
    return { sql, capture: 'partial', note: `the dry run answered ${reads} read(s) with zero rows: statements that depend on data may be missing` };
  }
  return { sql, capture: 'full' };
}
