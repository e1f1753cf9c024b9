import { qualifiedColumns } from '@stellaops/postgres-core';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { RUN_COLUMNS, type Run } from '../database/rows.js';
import { SchedulerError } from '../errors/scheduler-error.js';

/** What {@link RunQueue.claim} takes. */
export interface RunClaimOptions {
  /** Who claims (host/process id); recorded as `locked_by`. */
  workerId: string;
  /** Most runs claimed (default 10). */
  limit?: number;
  /** How long the claim holds before another worker may take the run over (default 60 s). */
  leaseSeconds?: number;
}

/** A claimed run: what {@link RunQueue.complete} and friends need. */
export type RunRef = Pick<Run, 'tenant_id' | 'id'>;

/**
 * Leased claims of due runs. `claim` takes queued runs whose tick has come
 * and running runs whose lease expired (their worker died: takeover), with
 * `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other and
 * never get the same run. Every later step is a guarded update that only the
 * lease holder's `workerId` passes; the database's transition trigger refuses
 * anything but queued → running → succeeded | failed | cancelled.
 *
 * @example
 * ```ts
 * const queue = new RunQueue(workerDs.db);
 * for (const run of await queue.claim({ workerId, limit: 5, leaseSeconds: 120 })) {
 *   try { await execute(run); await queue.complete(run, workerId); }
 *   catch (e) { await queue.fail(run, workerId, String(e)); }
 * }
 * ```
 */
export class RunQueue {
  readonly #db: Kysely<DB>;

  /** @param db the worker role's Kysely over Scheduler's `DB` (every tenant), or a tenant-bound one */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Claims up to `limit` due runs, oldest tick first, for `leaseSeconds`; each claim counts an attempt. */
  async claim(options: RunClaimOptions): Promise<Run[]> {
    const workerId = nonEmpty(options.workerId);
    const limit = options.limit ?? 10;
    const lease = leaseOf(options.leaseSeconds ?? 60);
    if (!Number.isInteger(limit) || limit < 1)
      throw new SchedulerError('INVALID_ARGUMENT', `limit must be a positive integer (got ${String(limit)})`);
    const rows = await this.#db
      .updateTable('scheduler.runs as r')
      .from(
        this.#db
          .selectFrom('scheduler.runs')
          .select(['tenant_id', 'id'])
          .where((eb) =>
            eb.or([
              eb.and([eb('status', '=', 'queued'), eb('scheduled_for', '<=', sql<Date>`now()`)]),
              eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', sql<Date>`now()`)]),
            ]),
          )
          .orderBy('scheduled_for')
          .limit(limit)
          .forUpdate()
          .skipLocked()
          .as('due'),
      )
      .set({
        status: 'running',
        locked_by: workerId,
        lease_expires_at: sql<Date>`now() + make_interval(secs => ${lease})`,
        attempts: sql<number>`r.attempts + 1`,
        started_at: sql<Date>`coalesce(r.started_at, now())`,
        updated_at: sql<Date>`now()`,
      })
      .whereRef('r.tenant_id', '=', 'due.tenant_id')
      .whereRef('r.id', '=', 'due.id')
      .returning(qualifiedColumns('r', RUN_COLUMNS))
      .execute();
    return rows.sort((a, b) => a.scheduled_for.getTime() - b.scheduled_for.getTime());
  }

  /** Extends the lease of a run this worker holds; `undefined` when it no longer holds it. */
  async heartbeat(run: RunRef, workerId: string, leaseSeconds = 60): Promise<Run | undefined> {
    return this.#settle(run, workerId, { lease_expires_at: sql<Date>`now() + make_interval(secs => ${leaseOf(leaseSeconds)})` });
  }

  /** Marks a held run succeeded; `undefined` when this worker no longer holds it (its lease expired and was taken over). */
  async complete(run: RunRef, workerId: string): Promise<Run | undefined> {
    return this.#settle(run, workerId, { status: 'succeeded', finished_at: sql<Date>`now()`, locked_by: null, lease_expires_at: null });
  }

  /** Marks a held run failed with an error text (no secrets); `undefined` when this worker no longer holds it. */
  async fail(run: RunRef, workerId: string, error: string): Promise<Run | undefined> {
    return this.#settle(run, workerId, {
      status: 'failed',
      error: error.slice(0, 4000),
      finished_at: sql<Date>`now()`,
      locked_by: null,
      lease_expires_at: null,
    });
  }

  async #settle(run: RunRef, workerId: string, changes: Record<string, unknown>): Promise<Run | undefined> {
    return this.#db
      .updateTable('scheduler.runs')
      .set({ ...changes, updated_at: sql<Date>`now()` })
      .where('tenant_id', '=', run.tenant_id)
      .where('id', '=', run.id)
      .where('status', '=', 'running')
      .where('locked_by', '=', nonEmpty(workerId))
      .returning(RUN_COLUMNS)
      .executeTakeFirst();
  }
}

function leaseOf(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400)
    throw new SchedulerError('INVALID_ARGUMENT', `leaseSeconds must be more than 0 and at most 86400 (got ${String(seconds)})`);
  return seconds;
}

function nonEmpty(workerId: string): string {
  if (typeof workerId !== 'string' || workerId.length === 0 || workerId.length > 200)
    throw new SchedulerError('INVALID_ARGUMENT', 'workerId must be 1-200 characters');
  return workerId;
}
