import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { TENANT_COLUMNS, type Tenant } from '../database/rows.js';

/** Status of a tenant. */
export type TenantStatus = 'active' | 'suspended';

/**
 * The current tenant's own record. Use it over a tenant-bound Kysely
 * (`ds.forTenant(id)` or a `ds.withTenant(id, …)` transaction): the row's id
 * is the session's tenant, and RLS shows no other tenant's row. Listing every
 * tenant is a platform operation outside the app role.
 *
 * @example
 * ```ts
 * const tenant = await new TenantRepository(ds.forTenant('acme')).create({ displayName: 'Acme Corp' });
 * ```
 */
export class TenantRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Authority's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Creates the session tenant's record.
   *
   * @throws `UniqueViolationError` when it exists already
   */
  async create(input: { displayName: string }): Promise<Tenant> {
    return this.db
      .insertInto('authority.tenants')
      .values({ display_name: input.displayName })
      .returning(TENANT_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The session tenant's record, if created. */
  async current(): Promise<Tenant | undefined> {
    return this.db.selectFrom('authority.tenants').select(TENANT_COLUMNS).executeTakeFirst();
  }

  /** Renames the tenant; returns the updated record (undefined when it does not exist). */
  async rename(displayName: string): Promise<Tenant | undefined> {
    return this.db
      .updateTable('authority.tenants')
      .set({ display_name: displayName, updated_at: sql<Date>`now()` })
      .returning(TENANT_COLUMNS)
      .executeTakeFirst();
  }

  /** Suspends or reactivates the tenant; returns the updated record. */
  async setStatus(status: TenantStatus): Promise<Tenant | undefined> {
    return this.db
      .updateTable('authority.tenants')
      .set({ status, updated_at: sql<Date>`now()` })
      .returning(TENANT_COLUMNS)
      .executeTakeFirst();
  }
}
