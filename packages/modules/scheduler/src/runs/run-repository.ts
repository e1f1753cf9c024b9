import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { RUN_COLUMNS, type Run } from '../database/rows.js';
import type { RunStatus } from './run-status.js';

/**
 * The session tenant's runs: reading them and cancelling one. Planning and
 * claiming are {@link RunPlanner} and {@link RunQueue}.
 *
 * @example
 * ```ts
 * const runs = new RunRepository(ds.forTenant('acme'));
 * const recent = await runs.listForSchedule(scheduleId, { limit: 20 });
 * ```
 */
export class RunRepository {
  readonly #db: Kysely<DB>;

  /** @param db a tenant-bound Kysely (or transaction) over Scheduler's `DB` */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The run with this id, if the session tenant has it. */
  async findById(id: string): Promise<Run | undefined> {
    return this.#db.selectFrom('scheduler.runs').select(RUN_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** A schedule's runs, newest tick first, optionally of some states only. */
  async listForSchedule(scheduleId: string, options: { status?: RunStatus[]; limit?: number } = {}): Promise<Run[]> {
    let q = this.#db.selectFrom('scheduler.runs').select(RUN_COLUMNS).where('schedule_id', '=', scheduleId);
    if (options.status && options.status.length > 0) q = q.where('status', 'in', options.status);
    return q
      .orderBy('scheduled_for', 'desc')
      .limit(options.limit ?? 100)
      .execute();
  }

  /**
   * Cancels a queued or running run (a running run's worker then finds its
   * claim gone); returns it, or `undefined` when it is finished already or
   * the session tenant has no such run.
   */
  async cancel(id: string): Promise<Run | undefined> {
    return this.#db
      .updateTable('scheduler.runs')
      .set({ status: 'cancelled', finished_at: sql<Date>`now()`, locked_by: null, lease_expires_at: null, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running'])
      .returning(RUN_COLUMNS)
      .executeTakeFirst();
  }
}
