import { DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the Notify service connects as: a plain `NOSUPERUSER
 * NOBYPASSRLS` role that owns nothing, so row level security always applies
 * to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The delivery workers' role. It may claim and settle due deliveries of every
 * tenant — through its own policies on `notify.deliveries` only, with
 * `UPDATE` limited to the queue-state columns — and reads channels and rules
 * only inside a tenant session, like the app role. It is no `BYPASSRLS` role
 * and owns nothing.
 */
export const WORKER_ROLE = 'stellaops_notify_worker';

/**
 * The database roles Notify's migrations grant to: create them (with `LOGIN`
 * and a password) before migrating as a role without `CREATEROLE`.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE, WORKER_ROLE];

/** The schema holding Notify's tables. */
export const NOTIFY_SCHEMA = 'notify';
