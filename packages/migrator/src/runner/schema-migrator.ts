import { IDENTIFIER_PATTERN } from '@stellaops/postgres-core';
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
import type { Queryable } from '../sql/queryable.js';
import { selectAppliedMigrations } from '../sql/select-applied-migrations.js';
import { selectTrackingState, type TrackingState } from '../sql/select-tracking-state.js';
import { updateAppliedChecksum } from '../sql/update-applied-checksum.js';
import { applyMigration, type ApplyContext } from './apply-migration.js';
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
  readonly #options: SchemaMigratorOptions;
  readonly #table: string;
  readonly #log: MigratorLogger;
  #resolved: Promise<ResolvedMigration[]> | undefined;

  /**
   * @param options connection, schema, migrations and behaviour
   * @throws {@link InvalidMigrationError} when the schema or table name breaks the identifier rule
   */
  constructor(options: SchemaMigratorOptions) {
    for (const [what, name] of [
      ['schema', options.schema],
      ['tracking table', options.table ?? TABLE],
    ] as const) {
      if (!IDENTIFIER_PATTERN.test(name)) {
        throw new InvalidMigrationError(
          `invalid ${what} name ${JSON.stringify(name)}: use 1-63 letters, digits, "_" or "$", starting with a letter or "_"`,
        );
      }
    }
    this.#options = options;
    this.#table = options.table ?? TABLE;
    this.#log = options.logger ?? silentLogger;
  }

  /** The schema this migrator manages. */
  get schema(): string {
    return this.#options.schema;
  }

  /** The validated migrations, in order (loaded once). */
  migrations(): Promise<ResolvedMigration[]> {
    this.#resolved ??= resolveMigrations(this.#options.migrations);
    return this.#resolved;
  }

  /** Combined checksum of the migration set (see `computeMigrationsHash`). */
  async hash(): Promise<string> {
    return computeMigrationsHash(this.schema, this.#table, await this.migrations());
  }

  /** Every migration's state. Read-only: creates nothing, takes no lock. */
  async status(): Promise<StatusReport> {
    const { analysis, tracking } = await this.#readOnly((db) => this.#state(db));
    const counts = { applied: 0, unverified: 0, drifted: 0, pending: 0, 'out-of-order': 0, missing: 0, future: 0 } satisfies Record<
      MigrationState,
      number
    >;
    for (const e of analysis.entries) counts[e.state]++;
    return { schema: this.schema, table: this.#table, initialized: tracking.tableExists, migrations: analysis.entries, counts };
  }

  /** Whether the database matches the source (nothing pending, drifted, missing). Read-only. */
  async verify(): Promise<VerifyReport> {
    const { analysis } = await this.#readOnly((db) => this.#state(db));
    const pending = analysis.pending.map((m) => m.id);
    const drifted = analysis.drifted.map((d) => ({
      id: d.migration.id,
      appliedChecksum: d.appliedChecksum,
      currentChecksum: d.migration.checksum,
    }));
    const unverified = analysis.entries.filter((e) => e.state === 'unverified').map((e) => e.id);
    const ok = pending.length + drifted.length + analysis.missing.length + unverified.length === 0;
    return {
      schema: this.schema,
      ok,
      pending,
      outOfOrder: analysis.outOfOrder.map((m) => m.id),
      drifted,
      missing: analysis.missing,
      unverified,
    };
  }

  /**
   * The SQL `up` (or `down`) would run, per migration, without changing
   * anything: SQL text as is; Kysely steps through a recording dry run.
   * Throws what `up`/`down` would throw before running (drift, order…).
   */
  async plan(options: ({ direction?: 'up' } & PlanUpOptions) | ({ direction: 'down' } & PlanDownOptions) = {}): Promise<PlanReport> {
    const { migrations, analysis } = await this.#readOnly((db) => this.#state(db));
    const direction = options.direction ?? 'up';
    const list =
      options.direction === 'down' ? planDown(migrations, analysis, options) : planUp(migrations, analysis, this.#upOptions(options));
    const planned: PlannedMigration[] = [];
    for (const m of list) {
      const step = (direction === 'up' ? m.up : m.down) as ResolvedStep;
      const { id, description, transaction, checksum, checksumSource } = m;
      planned.push({ id, description, transaction, checksum, checksumSource, ...(await describeStep(step)) });
    }
    return { schema: this.schema, direction, migrations: planned };
  }

  /**
   * Applies pending migrations (up to `to`). Returns the run's results; throws
   * `MigrationFailedError` (with `results`) when one fails, or the validation
   * error that stopped the run before anything ran.
   */
  async up(options: PlanUpOptions = {}): Promise<RunReport> {
    return this.#run('up', (migrations, analysis) => planUp(migrations, analysis, this.#upOptions(options)));
  }

  /**
   * Rolls back applied migrations (after `to`, the last `steps`, or `all`),
   * newest first, each in its own transaction with its tracking row. Refuses
   * before touching anything when one in range has no `down`.
   */
  async down(options: PlanDownOptions): Promise<RunReport> {
    return this.#run('down', (migrations, analysis) => planDown(migrations, analysis, options));
  }

  /**
   * Records the current checksum of drifted (or never checksummed) applied
   * migrations — all of them, or only `ids` — after a reviewed change.
   */
  async accept(ids?: readonly string[]): Promise<AcceptReport> {
    return this.#withLock(async (db) => {
      const { migrations, analysis } = await this.#state(db);
      const candidates = analysis.entries.filter((e) => e.state === 'drifted' || e.state === 'unverified');
      const unknown = (ids ?? []).filter((id) => !candidates.some((c) => c.id === id));
      if (unknown.length > 0)
        throw new InvalidMigrationError(`nothing to accept for ${unknown.join(', ')} (not an applied migration whose checksum differs)`);
      const accepted: AcceptReport['accepted'] = [];
      for (const c of ids ? candidates.filter((x) => ids.includes(x.id)) : candidates) {
        const m = migrations.find((x) => x.id === c.id) as ResolvedMigration;
        await updateAppliedChecksum(db, this.schema, this.#table, m.id, m.checksum, m.description);
        accepted.push({ id: m.id, previousChecksum: c.appliedChecksum, checksum: m.checksum });
        this.#log.warn(
          { schema: this.schema, migration: m.id, previousChecksum: c.appliedChecksum, checksum: m.checksum },
          'migration checksum accepted',
        );
      }
      return { schema: this.schema, accepted };
    });
  }

  /** The migrations, the tracking table's state and what they say together: the one read every command starts from. */
  async #state(db: Queryable): Promise<{ migrations: ResolvedMigration[]; tracking: TrackingState; analysis: Analysis }> {
    const migrations = await this.migrations();
    const tracking = await selectTrackingState(db, this.schema, this.#table);
    const rows = tracking.tableExists ? await selectAppliedMigrations(db, this.schema, this.#table, tracking.columns) : [];
    return { migrations, tracking, analysis: analyze(migrations, rows) };
  }

  #upOptions(o: PlanUpOptions): PlanUpOptions {
    return {
      to: o.to,
      allowOutOfOrder: o.allowOutOfOrder ?? this.#options.allowOutOfOrder,
      ignoreMissing: o.ignoreMissing ?? this.#options.ignoreMissing,
    };
  }

  #emit(e: MigratorEvent): void {
    this.#options.onEvent?.(e);
  }

  #openSession(writing: boolean): Promise<MigrationSession> {
    return MigrationSession.open(this.#options.connectionString, {
      applicationName: this.#options.applicationName ?? 'stella-migrator',
      refusePooler: writing && !this.#options.allowPooler,
      ...(writing ? { lockTimeoutMs: this.#options.lockTimeoutMs ?? 5_000 } : {}),
      ...(this.#options.ssl !== undefined ? { ssl: this.#options.ssl } : {}),
    });
  }

  /** Runs `fn` on a fresh session without the lock (through a pooler too). */
  async #readOnly<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    await this.migrations(); // invalid migrations fail before connecting
    const session = await this.#openSession(false);
    try {
      return await fn(session.client);
    } finally {
      await session.close();
    }
  }

  /**
   * Runs `fn` holding the schema's migration lock, with the tracking table
   * created or completed first. With `doneWhileWaiting`, returns `undefined`
   * without taking the lock once that check (run while another runner holds
   * it) says there is nothing left to do.
   */
  async #withLock<T>(fn: (db: Queryable, lockWaitMs: number) => Promise<T>): Promise<T>;
  async #withLock<T>(
    fn: (db: Queryable, lockWaitMs: number) => Promise<T>,
    doneWhileWaiting: (db: Queryable) => Promise<boolean>,
  ): Promise<T | undefined>;
  async #withLock<T>(
    fn: (db: Queryable, lockWaitMs: number) => Promise<T>,
    doneWhileWaiting?: (db: Queryable) => Promise<boolean>,
  ): Promise<T | undefined> {
    await this.migrations();
    const session = await this.#openSession(true);
    const lock = new MigrationLock(session.client, this.schema, `${this.schema}.${this.#table}`);
    try {
      const { waitedMs, held } = await lock.acquire({
        waitMs: this.#options.lockWaitMs ?? 60_000,
        onWait: () => {
          this.#log.info({ schema: this.schema }, 'waiting for the migration lock');
          this.#emit({ type: 'lock-wait', schema: this.schema });
        },
        ...(doneWhileWaiting ? { stopWaiting: () => doneWhileWaiting(session.client).catch(() => false) } : {}),
      });
      if (!held) {
        this.#log.info(
          { schema: this.schema, waitedMs: Math.round(waitedMs) },
          'another runner applied every pending migration while this one waited',
        );
        return undefined;
      }
      this.#emit({ type: 'lock-acquired', schema: this.schema, waitedMs });
      await this.#ensureTracking(session.client);
      return await fn(session.client, waitedMs);
    } finally {
      const released = await lock.release().catch(() => false);
      if (!released) this.#log.debug({ schema: this.schema }, 'migration lock was not held at release');
      await session.close();
    }
  }

  async #ensureTracking(db: Queryable): Promise<void> {
    const state = await selectTrackingState(db, this.schema, this.#table);
    if (!state.schemaExists) await createSchema(db, this.schema);
    if (!state.tableExists) {
      await createTrackingTable(db, this.schema, this.#table);
      return;
    }
    const missing = Object.fromEntries(Object.entries(TRACKING_EXTRA_COLUMNS).filter(([c]) => !state.columns.includes(c)));
    if (Object.keys(missing).length > 0) await addTrackingColumns(db, this.schema, this.#table, missing);
  }

  async #run(direction: 'up' | 'down', choose: Choose): Promise<RunReport> {
    const t0 = performance.now();
    const apply = async (db: Queryable, lockWaitMs: number): Promise<RunReport> => {
      const { migrations, analysis } = await this.#state(db);
      const list = choose(migrations, analysis);
      this.#announce(direction, list, analysis);
      const results = await this.#applyAll(db, direction, list);
      const report: RunReport = { schema: this.schema, direction, results, lockWaitMs, durationMs: performance.now() - t0 };
      if (list.length > 0) {
        this.#log.info(
          { schema: this.schema, direction, count: list.length, durationMs: Math.round(report.durationMs) },
          `migrations ${direction === 'up' ? 'applied' : 'rolled back'}: ${list.length}`,
        );
      }
      return report;
    };
    if (direction === 'down') return this.#withLock(apply);
    // While another runner holds the lock, an `up` checks (read-only) whether
    // that runner has already applied everything this one would; if so it is
    // done without ever taking the lock (replicas booting together).
    const report = await this.#withLock(apply, (db) => this.#nothingPending(db, choose));
    return (
      report ?? { schema: this.schema, direction, results: [], lockWaitMs: performance.now() - t0, durationMs: performance.now() - t0 }
    );
  }

  async #nothingPending(db: Queryable, choose: Choose): Promise<boolean> {
    const { migrations, tracking, analysis } = await this.#state(db);
    return tracking.tableExists && choose(migrations, analysis).length === 0;
  }

  #announce(direction: 'up' | 'down', list: readonly ResolvedMigration[], analysis: Analysis): void {
    this.#emit({ type: 'planned', schema: this.schema, direction, ids: list.map((m) => m.id) });
    if (analysis.future.length > 0) {
      this.#log.warn(
        { schema: this.schema, future: analysis.future },
        'database has migrations newer than this source (a newer release ran)',
      );
    }
    const summary =
      list.length > 0 ? `migration plan: ${list.length} to ${direction === 'up' ? 'apply' : 'roll back'}` : 'schema is up to date';
    this.#log.info({ schema: this.schema, direction, count: list.length, migrations: list.map((m) => m.id) }, summary);
  }

  /** Applies `list` in order; the first failure throws `MigrationFailedError` carrying every result so far. */
  async #applyAll(db: Queryable, direction: 'up' | 'down', list: readonly ResolvedMigration[]): Promise<MigrationResult[]> {
    const results: MigrationResult[] = list.map((m) => ({ id: m.id, direction, status: 'not-run', inTransaction: m.transaction }));
    const ctx: ApplyContext = {
      db,
      schema: this.schema,
      table: this.#table,
      appliedBy: this.#options.appliedBy ?? null,
      lockRetries: this.#options.lockRetries ?? 3,
      retryDelayMs: this.#options.retryDelayMs ?? 250,
      sessionLockTimeoutMs: this.#options.lockTimeoutMs ?? 5_000,
      emit: (e: MigratorEvent) => this.#emit(e),
    };
    for (const [index, m] of list.entries()) {
      const result = results[index] as MigrationResult;
      this.#emit({ type: 'migration-start', id: m.id, direction, index, total: list.length });
      const ts = performance.now();
      try {
        const outcome = await applyMigration(ctx, m, direction);
        result.status = direction === 'up' ? 'applied' : 'reverted';
        result.durationMs = outcome.durationMs;
        result.attempts = outcome.attempts;
        this.#emit({ type: 'migration-done', id: m.id, direction, index, total: list.length, durationMs: outcome.durationMs });
        this.#log.debug(
          { schema: this.schema, migration: m.id, direction, durationMs: Math.round(outcome.durationMs) },
          `migration ${m.id} ${result.status}`,
        );
      } catch (error) {
        result.status = 'failed';
        result.durationMs = performance.now() - ts;
        result.attempts = (error as { attempts?: number }).attempts ?? 1;
        throw this.#failed(m, direction, results, error);
      }
    }
    return results;
  }

  #failed(m: ResolvedMigration, direction: 'up' | 'down', results: MigrationResult[], error: unknown): MigrationFailedError {
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
    this.#emit({ type: 'migration-failed', id: m.id, direction, error: failed });
    this.#log.error(
      { schema: this.schema, migration: m.id, direction, sqlState: failed.sqlState, position: failed.position, err: error },
      failed.message,
    );
    return failed;
  }
}

/** Picks the migrations a run applies (or reverts) from the source and the database's state. */
type Choose = (migrations: ResolvedMigration[], analysis: Analysis) => ResolvedMigration[];

async function describeStep(step: ResolvedStep): Promise<Pick<PlannedMigration, 'sql' | 'capture' | 'note'>> {
  if (step.kind === 'sql') return { sql: step.sql, capture: 'full' };
  const c = await captureSql(step.fn);
  const sql = renderRecordedQueries(c.queries);
  if (!c.ok) return { sql, capture: 'partial', note: `dry run stopped: ${c.reason}` };
  const reads = c.queries.filter((q) => /^\s*(select|with|table|values|show)\b/i.test(q.sql)).length;
  if (reads > 0) {
    return {
      sql,
      capture: 'partial',
      note: `the dry run answered ${reads} read(s) with zero rows: statements that depend on data may be missing`,
    };
  }
  return { sql, capture: 'full' };
}
