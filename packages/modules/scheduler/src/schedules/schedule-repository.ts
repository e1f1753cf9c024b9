import { sql, type Kysely } from 'kysely';
import type { DB, JsonObject } from '../generated/db.js';
import { SCHEDULE_COLUMNS, type Schedule } from '../database/rows.js';
import { CronSchedule } from './cron.js';

/** What {@link ScheduleRepository.create} takes. */
export interface CreateScheduleInput {
  /** Name, unique per tenant regardless of case (1-200 characters). */
  name: string;
  /** Cron expression: five fields (`*\/15 * * * *`) or a macro (`@daily`); validated with cron-parser. */
  cron: string;
  /** IANA time zone the expression is read in (default `UTC`); validated against Intl and stored canonical. */
  timeZone?: string;
  /** Whether the schedule fires (default true). */
  enabled?: boolean;
  /** What each run is about (job kind, arguments…); no secrets. */
  payload?: JsonObject;
  /** The first tick planned is the first after this instant (default: now). */
  from?: Date;
}

/**
 * The session tenant's schedules (`scheduler.schedules`). Cron expressions and
 * time zones are validated before any SQL runs; `next_fire_at` (the next tick
 * to plan) is computed here and kept null while a schedule is disabled.
 *
 * @example
 * ```ts
 * const nightly = await new ScheduleRepository(ds.forTenant('acme')).create({ name: 'nightly scan', cron: '0 2 * * *', timeZone: 'Europe/Berlin' });
 * ```
 */
export class ScheduleRepository {
  readonly #db: Kysely<DB>;

  /** @param db a tenant-bound Kysely (or transaction) over Scheduler's `DB` */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Creates a schedule in the session tenant.
   *
   * @throws `InvalidCronExpressionError`, `InvalidTimeZoneError` before touching the database
   * @throws `UniqueViolationError` (constraint `schedules_tenant_name_key`) when the name exists in any case
   */
  async create(input: CreateScheduleInput): Promise<Schedule> {
    const cron = CronSchedule.parse(input.cron, input.timeZone ?? 'UTC');
    const enabled = input.enabled ?? true;
    return this.#db
      .insertInto('scheduler.schedules')
      .values({
        name: input.name,
        cron: cron.expression,
        time_zone: cron.timeZone,
        enabled,
        payload: JSON.stringify(input.payload ?? {}),
        next_fire_at: enabled ? cron.nextAfter(input.from ?? new Date()) : null,
      })
      .returning(SCHEDULE_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The schedule with this id, if the session tenant has it. */
  async findById(id: string): Promise<Schedule | undefined> {
    return this.#db.selectFrom('scheduler.schedules').select(SCHEDULE_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** All schedules of the session tenant, by name. */
  async list(): Promise<Schedule[]> {
    return this.#db.selectFrom('scheduler.schedules').select(SCHEDULE_COLUMNS).orderBy('name').orderBy('id').execute();
  }

  /** Renames a schedule; returns it, or `undefined` when the session tenant has no such schedule. */
  async rename(id: string, name: string): Promise<Schedule | undefined> {
    return this.#db
      .updateTable('scheduler.schedules')
      .set({ name, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(SCHEDULE_COLUMNS)
      .executeTakeFirst();
  }

  /**
   * Changes when a schedule fires; the next tick is the first after `from`
   * (default now) in the new expression. Runs already planned stay.
   *
   * @throws `InvalidCronExpressionError`, `InvalidTimeZoneError`
   */
  async reschedule(id: string, input: { cron: string; timeZone?: string; from?: Date }): Promise<Schedule | undefined> {
    const cron = CronSchedule.parse(input.cron, input.timeZone ?? 'UTC');
    const next = cron.nextAfter(input.from ?? new Date());
    return this.#db
      .updateTable('scheduler.schedules')
      .set({
        cron: cron.expression,
        time_zone: cron.timeZone,
        next_fire_at: sql<Date>`case when enabled then ${next}::timestamptz end`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .returning(SCHEDULE_COLUMNS)
      .executeTakeFirst();
  }

  /**
   * Enables (the next tick is the first after `from`, default now: ticks
   * missed while disabled are not planned) or disables a schedule.
   */
  async setEnabled(id: string, enabled: boolean, from: Date = new Date()): Promise<Schedule | undefined> {
    const current = await this.findById(id);
    if (!current) return undefined;
    const next = enabled ? CronSchedule.parse(current.cron, current.time_zone).nextAfter(from) : null;
    return (
      this.#db
        .updateTable('scheduler.schedules')
        // an already enabled schedule keeps its next tick; the old `enabled` is what the case reads
        .set({
          enabled,
          next_fire_at: next === null ? null : sql<Date>`case when enabled then next_fire_at else ${next}::timestamptz end`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .returning(SCHEDULE_COLUMNS)
        .executeTakeFirst()
    );
  }

  /** Deletes a schedule and its runs; true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('scheduler.schedules').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
