import { InvalidTenantIdError } from '../errors/usage-errors.js';

/** Maximum tenant id length. */
export const TENANT_ID_MAX_LENGTH = 64;

/** Tenant ids: a letter or digit, then letters, digits, `.`, `_`, `-` (ASCII only), at most 64 characters. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Returns `tenantId` if valid, else throws. Validation is a second line of
 * defence: the id is always sent as a bound parameter anyway.
 *
 * @throws {@link InvalidTenantIdError} (the message never echoes the value)
 * @example
 * ```ts
 * validateTenantId('acme-01'); // 'acme-01'
 * validateTenantId("x' or 1=1"); // throws InvalidTenantIdError
 * ```
 */
export function validateTenantId(tenantId: unknown): string {
  if (typeof tenantId !== 'string') throw new InvalidTenantIdError('must be a string');
  if (tenantId.length === 0) throw new InvalidTenantIdError('must not be empty');
  if (tenantId.length > TENANT_ID_MAX_LENGTH) throw new InvalidTenantIdError(`must be at most ${TENANT_ID_MAX_LENGTH} characters`);
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new InvalidTenantIdError('only ASCII letters, digits, ".", "_" and "-" are allowed, starting with a letter or digit');
  }
  return tenantId;
}
