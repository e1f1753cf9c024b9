/**
 * `@stellaops/module-scheduler`: Scheduler's PostgreSQL schema (`scheduler`), its
 * migrations, typed repositories and generated types. Repositories take a
 * tenant-bound `Kysely<DB>` from postgres-core (`ds.forTenant(id)` or a
 * `withTenant` transaction); row level security keeps every tenant to its own rows.
 *
 * @packageDocumentation
 */
export { migrations } from './migrations/migration-set.js';
export { APP_ROLE, SCHEDULER_SCHEMA, REQUIRED_ROLES } from './database/roles.js';
export { ScheduleRepository, type CreateScheduleInput } from './schedules/schedule-repository.js';
export type * from './generated/db.js';
