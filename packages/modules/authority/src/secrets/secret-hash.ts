import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A new random secret (256 bits, base64url) with a readable prefix, e.g.
 * `stc_…` for client secrets or `sta_…` for access tokens.
 *
 * @param prefix a short lower-case prefix that makes leaked secrets recognizable
 */
export function generateSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 of a secret, as stored (`bytea`, 32 bytes). Secrets and tokens are
 * 256-bit random values generated here, so a fast hash is enough — there is
 * nothing to brute-force; a slow KDF is for human-chosen passwords.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: Uint8Array | null): boolean {
  if (!storedHash || storedHash.length !== 32) return false;
  return timingSafeEqual(hashSecret(secret), storedHash);
}
