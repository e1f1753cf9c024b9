import { DEFAULT_APP_ROLE } from '@stellaops/postgres-core';

/**
 * The application role the Authority service connects as: a plain
 * `NOSUPERUSER NOBYPASSRLS` role that owns nothing, so row level security
 * always applies to it. Shared by every StellaOps module (`stellaops_app`).
 */
export const APP_ROLE = DEFAULT_APP_ROLE;

/**
 * The database roles Authority's migrations grant to: create them (with
 * `LOGIN` and a password) before migrating as a role without `CREATEROLE`.
 */
export const REQUIRED_ROLES: readonly string[] = [APP_ROLE];

/** The schema holding Authority's tables. */
export const AUTHORITY_SCHEMA = 'authority';
