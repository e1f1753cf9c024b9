import { DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the Scheduler service connects as: a plain `NOSUPERUSER
 * NOBYPASSRLS` role that owns nothing, so row level security always applies
 * to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The schedulers' role: plans runs and claims them across tenants. It reads
 * schedules and runs of every tenant, may advance a schedule's
 * `next_fire_at`, insert queued runs and update the state columns of
 * unfinished runs — through its own policies (V002) — and nothing else. It is
 * no `BYPASSRLS` role and owns nothing.
 */
export const WORKER_ROLE = 'stellaops_scheduler_worker';

/**
 * The database roles Scheduler's migrations grant to: `stella-db up` (and
 * deployments) create them with `LOGIN` before migrating as a role without
 * `CREATEROLE`. Add a module role here when a migration grants to one.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE, WORKER_ROLE];

/** The schema holding Scheduler's tables. */
export const SCHEDULER_SCHEMA = 'scheduler';
