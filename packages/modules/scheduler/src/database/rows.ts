import type * as Db from '../generated/db.js';

/**
 * A row as the repositories, the planner and the queue return it: the
 * generated row without `tenant_tag`, the sha256 of its tenant's proof that
 * only the tenant policies read (not secret, but nothing a caller needs).
 *
 * @example
 * ```ts
 * type Plain = Untagged<Db.Run>; // every column of scheduler.runs but tenant_tag
 * ```
 */
export type Untagged<Row> = Omit<Row, 'tenant_tag'>;

/** A schedule as the repository returns it (`scheduler.schedules` without `tenant_tag`). */
export type Schedule = Untagged<Db.Schedule>;
/** A run as the repository, the planner and the queue return it (`scheduler.runs` without `tenant_tag`). */
export type Run = Untagged<Db.Run>;

/** The columns of `scheduler.schedules` the repository returns (all but `tenant_tag`). */
export const SCHEDULE_COLUMNS = [
  'tenant_id',
  'id',
  'name',
  'cron',
  'time_zone',
  'enabled',
  'payload',
  'next_fire_at',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof Schedule>;

/** The columns of `scheduler.runs` the repository, the planner and the queue return (all but `tenant_tag`). */
export const RUN_COLUMNS = [
  'tenant_id',
  'id',
  'schedule_id',
  'scheduled_for',
  'status',
  'attempts',
  'locked_by',
  'lease_expires_at',
  'started_at',
  'finished_at',
  'error',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof Run>;
