import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';

/** Key ids: 1-32 ASCII letters, digits, `_` or `-` (the proof is `<key id>.<hex mac>`, so never a `.`). */
export const TENANT_KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** Shortest tenant key accepted, in characters (`stella-db up` generates 43: 32 random bytes, base64url). */
export const TENANT_KEY_MIN_LENGTH = 32;

/** HMAC-SHA256 block size. */
const BLOCK = 64;

/**
 * The tenant key: the secret the data source signs tenant ids with
 * (`Postgres__TenantKey`). Held in a private field; `toString`, `toJSON` and
 * `util.inspect` print `***`, so logging the options never shows it.
 *
 * @example
 * ```ts
 * const key = new TenantKey('k1', process.env.Postgres__TenantKey!);
 * key.proofFor('acme'); // 'k1.3f5c…' (64 hex)
 * String(key);          // 'TenantKey(k1, ***)'
 * ```
 */
export class TenantKey {
  /** Key id (not secret): which stored key verifies the proofs. */
  readonly keyId: string;
  readonly #secret: Buffer;

  /**
   * @param keyId see {@link TENANT_KEY_ID_PATTERN}
   * @param secret at least {@link TENANT_KEY_MIN_LENGTH} characters; its UTF-8 bytes are the HMAC key
   */
  constructor(keyId: string, secret: string) {
    this.keyId = keyId;
    this.#secret = Buffer.from(secret, 'utf8');
  }

  /** `<key id>.<hex HMAC-SHA256(secret, tenantId)>`, the value of `app.tenant_proof`. */
  proofFor(tenantId: string): string {
    return `${this.keyId}.${createHmac('sha256', this.#secret).update(tenantId, 'utf8').digest('hex')}`;
  }

  /**
   * The HMAC inner and outer padded keys (RFC 2104: key, hashed first when
   * longer than 64 bytes, zero-padded to 64 bytes, XOR 0x36 / 0x5c) that
   * `stellaops_security.tenant_keys` stores, so the database computes
   * `sha256(outer || sha256(inner || tenant))` with the built-in `sha256()`.
   */
  pads(): { inner: Buffer; outer: Buffer } {
    const key = Buffer.alloc(BLOCK);
    (this.#secret.length > BLOCK ? createHash('sha256').update(this.#secret).digest() : this.#secret).copy(key);
    const inner = Buffer.alloc(BLOCK);
    const outer = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      inner[i] = key[i]! ^ 0x36;
      outer[i] = key[i]! ^ 0x5c;
    }
    return { inner, outer };
  }

  toString(): string {
    return `TenantKey(${this.keyId}, ***)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
