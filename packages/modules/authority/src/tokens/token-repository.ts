import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import type { Token } from '../database/rows.js';
import { generateSecret, hashSecret } from '../secrets/secret-hash.js';

/** Kind of an issued token. */
export type TokenKind = 'access' | 'refresh';

/** An issued token's record as returned to callers: everything but its hash. */
export type TokenRecord = Omit<Token, 'token_hash'>;

/** What {@link TokenRepository.issue} takes. */
export interface IssueTokenInput {
  /** Access or refresh token. */
  kind: TokenKind;
  /** The client it is issued to. */
  clientId: string;
  /** The user it represents (none for `client_credentials`). */
  userId?: string | null;
  /** Granted scopes. */
  scopes?: string[];
  /** Lifetime in seconds (> 0), counted from the database's `now()`. */
  ttlSeconds: number;
}

/** A newly issued token: the token itself (returned once, stored only as a hash) and its record. */
export interface IssuedToken {
  /** The opaque token to hand to the client. Never stored, never logged. */
  token: string;
  /** Its record. */
  record: TokenRecord;
}

const PREFIX: Record<TokenKind, string> = { access: 'sta', refresh: 'str' };

/**
 * The session tenant's issued tokens: opaque random tokens stored as SHA-256
 * hashes, with expiry and revocation. A token is active while it is neither
 * revoked nor expired (by the database clock).
 *
 * @example
 * ```ts
 * const tokens = new TokenRepository(ds.forTenant('acme'));
 * const { token } = await tokens.issue({ kind: 'access', clientId: 'cli', userId, scopes: ['scan:read'], ttlSeconds: 900 });
 * const active = await tokens.findActive(token); // record, or undefined once revoked or expired
 * ```
 */
export class TokenRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Authority's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Issues a token.
   *
   * @throws `ForeignKeyViolationError` for an unknown client or user
   * @throws `CheckViolationError` when `ttlSeconds` is not positive
   */
  async issue(input: IssueTokenInput): Promise<IssuedToken> {
    const token = generateSecret(PREFIX[input.kind]);
    const record = await this.db
      .insertInto('authority.tokens')
      .values({
        token_hash: hashSecret(token),
        kind: input.kind,
        client_id: input.clientId,
        user_id: input.userId ?? null,
        scopes: input.scopes ?? [],
        issued_at: sql<Date>`now()`,
        expires_at: sql<Date>`now() + make_interval(secs => ${input.ttlSeconds})`,
      })
      .returning(recordColumns)
      .executeTakeFirstOrThrow();
    return { token, record };
  }

  /** The record of `token` when it exists, is not revoked and has not expired. */
  async findActive(token: string): Promise<TokenRecord | undefined> {
    return this.db
      .selectFrom('authority.tokens')
      .select(recordColumns)
      .where('token_hash', '=', hashSecret(token))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
  }

  /** The record with this id, active or not. */
  async findById(id: string): Promise<TokenRecord | undefined> {
    return this.db.selectFrom('authority.tokens').select(recordColumns).where('id', '=', id).executeTakeFirst();
  }

  /** Revokes one token; true when it was active-or-expired and not yet revoked. */
  async revoke(id: string, reason: string): Promise<boolean> {
    const r = await this.db
      .updateTable('authority.tokens')
      .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Revokes every unrevoked token of a user (logout everywhere, user disabled); returns how many. */
  async revokeAllForUser(userId: string, reason: string): Promise<number> {
    const r = await this.db
      .updateTable('authority.tokens')
      .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Deletes tokens that expired more than `graceSeconds` ago (default 0); returns how many. */
  async deleteExpired(graceSeconds = 0): Promise<number> {
    const r = await this.db
      .deleteFrom('authority.tokens')
      .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

const recordColumns = [
  'tenant_id',
  'id',
  'kind',
  'client_id',
  'user_id',
  'scopes',
  'issued_at',
  'expires_at',
  'revoked_at',
  'revoked_reason',
] as const;
