import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SchemaMigrator } from '@stellaops/migrator';
import {
  appRoleHardeningSql,
  checkAppRole,
  installTenantKey,
  SECURITY_SCHEMA,
  securityMigrations,
  type TenantKey,
} from '@stellaops/postgres-core';

/** A tenant key as it is saved (0600): `{ "keyId": "k1", "key": "…" }`. */
export interface SavedTenantKey {
  keyId: string;
  key: string;
}

/** A fresh tenant key: id `k1`, 32 random bytes (base64url). Save it before installing it. */
export function newTenantKey(): SavedTenantKey {
  return { keyId: 'k1', key: randomBytes(32).toString('base64url') };
}

/**
 * The tenant proof in the `stellaops` database, shared by `stella-db up` and
 * `stella-db cluster up`: postgres-core's `securityMigrations` (schema
 * `stellaops_security`: the owner-only key table, `current_tenant()`, the row
 * tag functions `session_tag()`, `tenant_tag()`, `fill_tenant_tag()`)
 * applied as the owner role, then the tenant key installed (idempotent; a
 * different secret under the same id is a `TenantKeyConflictError`). Run it
 * before module migrations: their tag backfill and the fill trigger tag rows
 * with the newest installed key and refuse when there is none. The same owner
 * then runs the module migrations, so it owns (and may execute) `tenant_tag()`
 * and `fill_tenant_tag()`, which are revoked from `PUBLIC`.
 *
 * @example
 * ```ts
 * await applyTenantProof({ ownerUrl, key: new TenantKey('k1', secret), applicationName: 'stella-db up' });
 * ```
 */
export async function applyTenantProof(args: { ownerUrl: string; key: TenantKey; applicationName: string }): Promise<void> {
  await new SchemaMigrator({
    connectionString: args.ownerUrl,
    schema: SECURITY_SCHEMA,
    migrations: securityMigrations,
    applicationName: args.applicationName,
  }).up();
  const owner = new pg.Client({ connectionString: args.ownerUrl, application_name: args.applicationName });
  await owner.connect();
  try {
    await installTenantKey(owner, args.key);
  } finally {
    await owner.end();
  }
}

/**
 * Least privilege for the app role in `database`, as a superuser
 * (postgres-core's `appRoleHardeningSql`: no TEMP, no CREATE, no plpgsql, no
 * dynamic-SQL built-ins, no role-level settings), then `checkAppRole`'s
 * problems for each role (empty when fine). `superuser` must be connected to `database`.
 *
 * @example
 * ```ts
 * const problems = await hardenAppRoles(admin, { database: 'stellaops', appRole: 'stellaops_app', ownerRole: 'stellaops_owner', roles: ['stellaops_app'] });
 * ```
 */
export async function hardenAppRoles(
  superuser: pg.ClientBase,
  args: { database: string; appRole: string; ownerRole: string; roles: readonly string[] },
): Promise<Record<string, string[]>> {
  for (const s of appRoleHardeningSql({ database: args.database, appRole: args.appRole, ownerRole: args.ownerRole }))
    await superuser.query(s);
  return checkAppRoles(superuser, args.roles);
}

/** `checkAppRole` for each role (read only), by role name. */
export async function checkAppRoles(superuser: pg.ClientBase, roles: readonly string[]): Promise<Record<string, string[]>> {
  const problems: Record<string, string[]> = {};
  for (const role of roles) problems[role] = await checkAppRole(superuser, role);
  return problems;
}

/** One line for `up`/`status`: `app role check: ok (…)` or `app role check: FAILED — role: problem; …`. */
export function appRoleCheckLine(problems: Record<string, string[]>): string {
  const failing = Object.entries(problems).filter(([, p]) => p.length > 0);
  return failing.length === 0
    ? `app role check: ok (${Object.keys(problems).join(', ')}: no superuser, BYPASSRLS, ownership, TEMP, CREATE, plpgsql, dynamic-SQL built-ins or role-level settings)`
    : `app role check: FAILED — ${failing.map(([r, p]) => `${r}: ${p.join('; ')}`).join(' | ')}`;
}
