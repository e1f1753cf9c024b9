import type { PostgresDataSource } from '@stellaops/postgres-core';
import { sql } from 'kysely';

/**
 * Tenant id of the probe session: a valid id that reads no table, so it needs
 * no tenant of that name.
 */
export const PROBE_TENANT = 'stellaops-tenant-proof-probe';

/**
 * What the database made of the data source's tenant proof: `verified` (its
 * `current_tenant()` returned the probe tenant) or `rejected` (NULL: the key
 * id is not installed in `stellaops_security.tenant_keys`, or under another
 * secret).
 */
export type TenantProofState = 'verified' | 'rejected';

/**
 * Asks the database whether it accepts the data source's tenant key: one
 * tenant-scoped `select stellaops_security.current_tenant()` through
 * `ds.forTenant(PROBE_TENANT)`. When the configured key is not the one
 * installed there, every tenant session sees no rows, so the worker would
 * find no channel and dead-letter every delivery; this says so up front. The
 * key itself is never sent or shown, only its HMAC proof (as for every tenant
 * session).
 *
 * @throws the database error when the probe cannot run (connection lost,
 * security schema missing, no EXECUTE on `current_tenant()`)
 * @example
 * ```ts
 * if ((await probeTenantProof(ds)) === 'rejected') console.error(tenantProofRejectedReason(ds.options.tenantKeyId));
 * ```
 */
export async function probeTenantProof<DB>(ds: PostgresDataSource<DB>): Promise<TenantProofState> {
  const r = await sql<{ tenant: string | null }>`select stellaops_security.current_tenant() as tenant`.execute(ds.forTenant(PROBE_TENANT));
  return r.rows[0]?.tenant === PROBE_TENANT ? 'verified' : 'rejected';
}

/** Readiness reason and error text for a rejected proof (names the key id, never the key). */
export function tenantProofRejectedReason(keyId: string): string {
  return (
    `tenant key "${keyId}" not accepted by the database: stellaops_security.current_tenant() returned NULL for a probe tenant, ` +
    `so every tenant session sees no rows (channels not found, deliveries dead-lettered)`
  );
}
