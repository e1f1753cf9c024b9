import { tenantProofRejectedReason } from '../readiness/tenant-proof.js';

/** The service cannot run as configured (wrong role, schema missing, migration failed, tenant key not accepted). */
export class StartupError extends Error {
  /** Stable code. */
  readonly code: string;

  /**
   * @param code stable code
   * @param message what is wrong and how to fix it
   * @param options the underlying error
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
    this.code = code;
  }
}

/**
 * The database does not accept the worker's tenant key: the key id
 * (`Postgres__TenantKeyId`) is not installed in the database's
 * `stellaops_security.tenant_keys`, or is installed with another secret. The
 * worker refuses to start (exit 1) instead of dead-lettering every delivery.
 * `code` is `TENANT_PROOF_REJECTED`; the message names the key id, never the key.
 *
 * @example
 * ```ts
 * try { await service.start(); } catch (e) { if (e instanceof TenantProofRejectedError) console.error(e.keyId, e.message); }
 * ```
 */
export class TenantProofRejectedError extends StartupError {
  /** The configured key id (not secret). */
  readonly keyId: string;

  /** @param keyId the configured key id (`Postgres__TenantKeyId`) */
  constructor(keyId: string) {
    super(
      'TENANT_PROOF_REJECTED',
      `${tenantProofRejectedReason(keyId)}. ` +
        `Fix: install the key in this database as the owner (locally \`stella-db up\` does; otherwise postgres-core's installTenantKey), ` +
        `or set Postgres__TenantKeyId and Postgres__TenantKey to a key that is installed there (locally \`stella-db url --tenant-key\` prints it).`,
    );
    this.name = 'TenantProofRejectedError';
    this.keyId = keyId;
  }
}
