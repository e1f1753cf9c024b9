import { DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the Scheduler service connects as: a plain `NOSUPERUSER
 * NOBYPASSRLS` role that owns nothing, so row level security always applies
 * to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The database roles Scheduler's migrations grant to: `stella-db up` (and
 * deployments) create them with `LOGIN` before migrating as a role without
 * `CREATEROLE`. Add a module role here when a migration grants to one.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE];

/** The schema holding Scheduler's tables. */
export const SCHEDULER_SCHEMA = 'scheduler';
