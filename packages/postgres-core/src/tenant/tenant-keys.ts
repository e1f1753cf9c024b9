import { PostgresCoreError } from '../errors/postgres-core-error.js';
import type { Queryable } from './rls-sql.js';
import type { TenantKey } from './tenant-key.js';
import { TENANT_KEY_ID_PATTERN } from './tenant-key.js';

/** A stored key conflicts with the one being installed under the same id. */
export class TenantKeyConflictError extends PostgresCoreError {
  /** @param keyId the id already in use */
  constructor(keyId: string) {
    super(
      'TENANT_KEY_CONFLICT',
      `Tenant key "${keyId}" is already installed with a different secret. Fix: install the new secret under a new key id (rotation), or remove "${keyId}" first with removeTenantKey.`,
    );
  }
}

/**
 * Stores `key` in `stellaops_security.tenant_keys` (as its HMAC padded keys,
 * bound parameters). Run as the owner role (or a superuser) after the
 * security migrations. Idempotent for the same secret; a different secret
 * under an existing id throws {@link TenantKeyConflictError} (keys are never
 * silently replaced). Returns whether a row was added.
 *
 * @example
 * ```ts
 * await installTenantKey(ownerClient, new TenantKey('k2', newSecret)); // rotation: then deploy with k2, then removeTenantKey(…, 'k1')
 * ```
 */
export async function installTenantKey(db: Queryable, key: TenantKey): Promise<boolean> {
  if (!TENANT_KEY_ID_PATTERN.test(key.keyId))
    throw new PostgresCoreError('INVALID_ARGUMENT', 'tenant key id must be 1-32 letters, digits, "_" or "-"');
  const { inner, outer } = key.pads();
  const r = await db.query(
    `with ins as (
       insert into stellaops_security.tenant_keys (key_id, inner_pad, outer_pad) values ($1, $2, $3)
       on conflict (key_id) do nothing returning 1)
     select (select count(*) from ins)::int as added,
            (select inner_pad = $2 and outer_pad = $3 from stellaops_security.tenant_keys where key_id = $1) as same`,
    [key.keyId, inner, outer],
  );
  const row = r.rows[0];
  if (Number(row?.added) === 1) return true;
  if (row?.same !== true) throw new TenantKeyConflictError(key.keyId);
  return false;
}

/** Removes a key id (after every service signs with its successor). Returns whether it existed. */
export async function removeTenantKey(db: Queryable, keyId: string): Promise<boolean> {
  const r = await db.query('delete from stellaops_security.tenant_keys where key_id = $1 returning 1', [keyId]);
  return r.rows.length > 0;
}

/** Ids of the installed keys, oldest first (never the secrets). */
export async function listTenantKeyIds(db: Queryable): Promise<string[]> {
  const r = await db.query('select key_id from stellaops_security.tenant_keys order by created_at, key_id');
  return r.rows.map((x) => String(x.key_id));
}
