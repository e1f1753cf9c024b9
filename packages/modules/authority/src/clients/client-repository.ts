import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import type { Client } from '../database/rows.js';
import { generateSecret, hashSecret, secretMatches } from '../secrets/secret-hash.js';

/** An OAuth client as returned to callers: everything but the secret hash. */
export type ClientView = Omit<Client, 'secret_hash'> & {
  /** Whether the client has a secret (confidential client). */
  confidential: boolean;
};

/** What {@link ClientRepository.register} takes. */
export interface RegisterClientInput {
  /** OAuth `client_id`, unique per tenant. */
  clientId: string;
  /** Display name. */
  displayName: string;
  /** Allowed redirect URIs. */
  redirectUris?: string[];
  /** Allowed grant types (`authorization_code`, `client_credentials`…). */
  grantTypes?: string[];
  /** Scopes the client may request. */
  scopes?: string[];
  /** Confidential clients get a secret (default true); public clients have none. */
  confidential?: boolean;
}

/** A registered client and, for confidential clients, its secret — shown this once, stored only as a hash. */
export interface RegisteredClient {
  /** The client. */
  client: ClientView;
  /** The plain secret (undefined for a public client). Never stored, never logged. */
  secret: string | undefined;
}

/** Prefix of generated client secrets. */
export const CLIENT_SECRET_PREFIX = 'stc';

/**
 * The session tenant's OAuth clients. Secrets are generated here (256 random
 * bits), returned once, and stored as their SHA-256 hash; no method returns
 * or logs the hash or the secret afterwards.
 *
 * @example
 * ```ts
 * const clients = new ClientRepository(ds.forTenant('acme'));
 * const { client, secret } = await clients.register({ clientId: 'cli', displayName: 'CLI' });
 * await clients.verifySecret('cli', secret!); // client
 * ```
 */
export class ClientRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Authority's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Registers a client.
   *
   * @throws `UniqueViolationError` when the `client_id` exists in the tenant
   */
  async register(input: RegisterClientInput): Promise<RegisteredClient> {
    const secret = input.confidential === false ? undefined : generateSecret(CLIENT_SECRET_PREFIX);
    const client = await this.db
      .insertInto('authority.clients')
      .values({
        client_id: input.clientId,
        display_name: input.displayName,
        secret_hash: secret === undefined ? null : hashSecret(secret),
        redirect_uris: input.redirectUris ?? [],
        grant_types: input.grantTypes ?? [],
        scopes: input.scopes ?? [],
      })
      .returning(viewColumns)
      .executeTakeFirstOrThrow();
    return { client, secret };
  }

  /** The client with this `client_id`, if any. */
  async findById(clientId: string): Promise<ClientView | undefined> {
    return this.db.selectFrom('authority.clients').select(viewColumns).where('client_id', '=', clientId).executeTakeFirst();
  }

  /** All clients of the tenant, by `client_id`. */
  async list(): Promise<ClientView[]> {
    return this.db.selectFrom('authority.clients').select(viewColumns).orderBy('client_id').execute();
  }

  /**
   * Authenticates a confidential client: the client when it exists, is
   * enabled and `secret` matches its stored hash (constant-time compare);
   * otherwise undefined, without saying which check failed.
   */
  async verifySecret(clientId: string, secret: string): Promise<ClientView | undefined> {
    const row = await this.db
      .selectFrom('authority.clients')
      .select(viewColumns)
      .select('secret_hash')
      .where('client_id', '=', clientId)
      .where('enabled', '=', true)
      .executeTakeFirst();
    if (!row || !secretMatches(secret, row.secret_hash)) return undefined;
    const { secret_hash: _hash, ...client } = row;
    return client;
  }

  /** Replaces a client's secret; returns the new secret (undefined when the client does not exist). */
  async rotateSecret(clientId: string): Promise<string | undefined> {
    const secret = generateSecret(CLIENT_SECRET_PREFIX);
    const r = await this.db
      .updateTable('authority.clients')
      .set({ secret_hash: hashSecret(secret), secret_rotated_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n ? secret : undefined;
  }

  /** Enables or disables a client; returns the updated client. */
  async setEnabled(clientId: string, enabled: boolean): Promise<ClientView | undefined> {
    return this.db
      .updateTable('authority.clients')
      .set({ enabled, updated_at: sql<Date>`now()` })
      .where('client_id', '=', clientId)
      .returning(viewColumns)
      .executeTakeFirst();
  }

  /** Deletes a client and its tokens; true when one was deleted. */
  async delete(clientId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('authority.clients').where('client_id', '=', clientId).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}

const viewColumns = [
  'tenant_id',
  'client_id',
  'display_name',
  'redirect_uris',
  'grant_types',
  'scopes',
  'enabled',
  'secret_rotated_at',
  'created_at',
  'updated_at',
  sql<boolean>`secret_hash is not null`.as('confidential'),
] as const;
