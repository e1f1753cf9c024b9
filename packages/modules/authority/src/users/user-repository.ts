import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { USER_COLUMNS, type User } from '../database/rows.js';

/** Status of a user. */
export type UserStatus = 'active' | 'disabled';

/** What {@link UserRepository.create} takes. */
export interface CreateUserInput {
  /** Login name; unique per tenant regardless of case. */
  login: string;
  /** Display name. */
  displayName?: string | null;
  /** E-mail address. */
  email?: string | null;
}

/**
 * The session tenant's users. Logins are unique per tenant and compared
 * case-insensitively (`lower(login)`, backed by the unique index
 * `users_tenant_login_key`); the stored login keeps its original case.
 *
 * @example
 * ```ts
 * const users = new UserRepository(ds.forTenant('acme'));
 * const alice = await users.create({ login: 'Alice' });
 * await users.findByLogin('ALICE'); // alice
 * ```
 */
export class UserRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Authority's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Creates a user in the session tenant.
   *
   * @throws `UniqueViolationError` (constraint `users_tenant_login_key`) when the login exists in any case
   * @throws `ForeignKeyViolationError` when the tenant record does not exist
   */
  async create(input: CreateUserInput): Promise<User> {
    return this.db
      .insertInto('authority.users')
      .values({ login: input.login, display_name: input.displayName ?? null, email: input.email ?? null })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The user with this id, if any. */
  async findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('authority.users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** The user whose login equals `login` ignoring case, if any. */
  async findByLogin(login: string): Promise<User | undefined> {
    return this.db
      .selectFrom('authority.users')
      .select(USER_COLUMNS)
      .where((eb) => eb(eb.fn<string>('lower', ['login']), '=', eb.fn<string>('lower', [eb.val(login)])))
      .executeTakeFirst();
  }

  /** Users ordered by login (case-insensitively), a page at a time. */
  async list(page: { limit?: number; offset?: number } = {}): Promise<User[]> {
    return this.db
      .selectFrom('authority.users')
      .select(USER_COLUMNS)
      .orderBy((eb) => eb.fn('lower', ['login']))
      .orderBy('id')
      .limit(page.limit ?? 100)
      .offset(page.offset ?? 0)
      .execute();
  }

  /** Enables or disables a user; returns the updated user (undefined when not found). */
  async setStatus(id: string, status: UserStatus): Promise<User | undefined> {
    return this.db
      .updateTable('authority.users')
      .set({ status, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(USER_COLUMNS)
      .executeTakeFirst();
  }

  /** Deletes a user (their tokens and role grants go with them); true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('authority.users').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
