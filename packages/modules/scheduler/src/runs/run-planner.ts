import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { RUN_COLUMNS, type Run } from '../database/rows.js';
import { SchedulerError } from '../errors/scheduler-error.js';
import { CronSchedule } from '../schedules/cron.js';

/** What {@link RunPlanner.planDue} takes. */
export interface PlanOptions {
  /** The scheduler's clock: ticks at or before it are due (default: now). */
  now?: Date;
  /** Most schedules looked at in one call (default 100). */
  limit?: number;
  /** Most ticks planned per schedule in one call; older missed ticks are skipped (default 10). */
  maxCatchUp?: number;
}

/** What {@link RunPlanner.planDue} did. */
export interface PlanResult {
  /** Due schedules looked at. */
  schedules: number;
  /** Runs this call created (ticks another scheduler planned first are not here). */
  created: Run[];
}

/**
 * Turns due schedule ticks into queued runs. Several schedulers may plan the
 * same ticks at once: each tick is inserted with `on conflict (tenant_id,
 * schedule_id, scheduled_for) do nothing` against the unique constraint
 * `runs_one_per_tick`, so exactly one run exists per tick whoever wins, and
 * `next_fire_at` only ever moves forward (`where next_fire_at < $next`).
 * Run it on the worker role's unscoped Kysely (every tenant), or on a
 * tenant-bound one (that tenant only).
 *
 * @example
 * ```ts
 * const planner = new RunPlanner(workerDs.db);
 * setInterval(() => void planner.planDue(), 15_000);
 * ```
 */
export class RunPlanner {
  readonly #db: Kysely<DB>;

  /** @param db the worker role's Kysely over Scheduler's `DB` (or a tenant-bound one) */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Plans the due ticks of up to `limit` schedules whose `next_fire_at` has come. */
  async planDue(options: PlanOptions = {}): Promise<PlanResult> {
    const now = options.now ?? new Date();
    const limit = positive(options.limit ?? 100, 'limit');
    const maxCatchUp = positive(options.maxCatchUp ?? 10, 'maxCatchUp');
    const due = await this.#db
      .selectFrom('scheduler.schedules')
      .select(['tenant_id', 'id', 'cron', 'time_zone', 'next_fire_at'])
      .where('enabled', '=', true)
      .where('next_fire_at', '<=', now)
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
    const created: Run[] = [];
    for (const s of due) created.push(...(await this.#planOne(s, now, maxCatchUp)));
    return { schedules: due.length, created };
  }

  async #planOne(
    s: { tenant_id: string; id: string; cron: string; time_zone: string; next_fire_at: Date | null },
    now: Date,
    maxCatchUp: number,
  ): Promise<Run[]> {
    const cron = CronSchedule.parse(s.cron, s.time_zone);
    const ticks = cron.ticksBetween(s.next_fire_at!, now, maxCatchUp);
    const next = cron.nextAfter(now);
    const inserted =
      ticks.length === 0
        ? []
        : await this.#db
            .insertInto('scheduler.runs')
            .values(ticks.map((t) => ({ tenant_id: s.tenant_id, schedule_id: s.id, scheduled_for: t })))
            .onConflict((oc) => oc.columns(['tenant_id', 'schedule_id', 'scheduled_for']).doNothing())
            .returning(RUN_COLUMNS)
            .execute();
    await this.#db
      .updateTable('scheduler.schedules')
      .set({ next_fire_at: next, updated_at: sql<Date>`now()` })
      .where('tenant_id', '=', s.tenant_id)
      .where('id', '=', s.id)
      .where('enabled', '=', true)
      .where('next_fire_at', '<', next)
      .execute();
    return inserted;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new SchedulerError('INVALID_ARGUMENT', `${name} must be a positive integer (got ${String(n)})`);
  return n;
}
