/**
 * `@stellaops/module-scheduler`: Scheduler's PostgreSQL schema (`scheduler`):
 * schedules (cron expression, time zone, enabled) and their runs — planned
 * exactly once per tick by any number of schedulers, claimed with leases
 * (`FOR UPDATE SKIP LOCKED`), taken over when a lease expires, and moved
 * through queued → running → succeeded | failed | cancelled by a state
 * machine the database enforces. Repositories take a tenant-bound
 * `Kysely<DB>` from postgres-core (`ds.forTenant(id)` or a `withTenant`
 * transaction); schedulers plan and claim across tenants as the worker role.
 *
 * @packageDocumentation
 */
export { migrations } from './migrations/migration-set.js';
export { APP_ROLE, WORKER_ROLE, SCHEDULER_SCHEMA, REQUIRED_ROLES } from './database/roles.js';
export { ScheduleRepository, type CreateScheduleInput } from './schedules/schedule-repository.js';
export { CronSchedule, canonicalTimeZone } from './schedules/cron.js';
export { RunPlanner, type PlanOptions, type PlanResult } from './runs/run-planner.js';
export { RunQueue, type RunClaimOptions, type RunRef } from './runs/run-queue.js';
export { RunRepository } from './runs/run-repository.js';
export { FINISHED_RUN_STATUSES, RUN_TRANSITIONS, type RunStatus } from './runs/run-status.js';
export { SchedulerError, InvalidCronExpressionError, InvalidTimeZoneError, type SchedulerErrorCode } from './errors/scheduler-error.js';
export type { Run, Schedule, Untagged } from './database/rows.js';
// the generated table types; the row aliases above (without tenant_tag) take the place of the generated ones of the same name
export type * from './generated/db.js';
