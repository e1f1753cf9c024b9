import { sql, type Kysely } from 'kysely';
import type { Schedule, DB } from '../generated/db.js';

/** What {@link ScheduleRepository.create} takes. */
export interface CreateScheduleInput {
  /** Name, unique per tenant regardless of case (1-200 characters). */
  name: string;
}

/**
 * The session tenant's rows of `scheduler.schedules`.
 *
 * @example
 * ```ts
 * const row = await new ScheduleRepository(ds.forTenant('acme')).create({ name: 'first' });
 * ```
 */
export class ScheduleRepository {
  readonly #db: Kysely<DB>;

  /** @param db a tenant-bound Kysely (or transaction) over Scheduler's `DB` */
  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Creates a row in the session tenant.
   *
   * @throws `UniqueViolationError` (constraint `schedules_tenant_name_key`) when the name exists in any case
   */
  async create(input: CreateScheduleInput): Promise<Schedule> {
    return this.#db.insertInto('scheduler.schedules').values({ name: input.name }).returningAll().executeTakeFirstOrThrow();
  }

  /** The row with this id, if the session tenant has it. */
  async findById(id: string): Promise<Schedule | undefined> {
    return this.#db.selectFrom('scheduler.schedules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** All rows of the session tenant, by name. */
  async list(): Promise<Schedule[]> {
    return this.#db.selectFrom('scheduler.schedules').selectAll().orderBy('name').orderBy('id').execute();
  }

  /** Renames a row; returns it, or `undefined` when the session tenant has no such row. */
  async rename(id: string, name: string): Promise<Schedule | undefined> {
    return this.#db
      .updateTable('scheduler.schedules')
      .set({ name, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** Deletes a row; true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('scheduler.schedules').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
