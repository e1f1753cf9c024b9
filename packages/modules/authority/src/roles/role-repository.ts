import { qualifiedColumns } from '@stellaops/postgres-core';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { ROLE_COLUMNS, type Role } from '../database/rows.js';

/** What {@link RoleRepository.create} takes. */
export interface CreateRoleInput {
  /** Role name; unique per tenant regardless of case. */
  name: string;
  /** Description. */
  description?: string | null;
  /** Permissions the role grants (e.g. `scan:read`). */
  permissions?: string[];
}

/**
 * The session tenant's roles and their grants to users. A user's
 * permissions are the union of the permissions of the roles granted to them.
 *
 * @example
 * ```ts
 * const roles = new RoleRepository(ds.forTenant('acme'));
 * const admin = await roles.create({ name: 'admin', permissions: ['users:write'] });
 * await roles.grant(alice.id, admin.id, 'bootstrap');
 * await roles.permissionsOf(alice.id); // ['users:write']
 * ```
 */
export class RoleRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Authority's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Creates a role.
   *
   * @throws `UniqueViolationError` (constraint `roles_tenant_name_key`) when the name exists in any case
   */
  async create(input: CreateRoleInput): Promise<Role> {
    return this.db
      .insertInto('authority.roles')
      .values({ name: input.name, description: input.description ?? null, permissions: input.permissions ?? [] })
      .returning(ROLE_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The role with this name (ignoring case), if any. */
  async findByName(name: string): Promise<Role | undefined> {
    return this.db
      .selectFrom('authority.roles')
      .select(ROLE_COLUMNS)
      .where((eb) => eb(eb.fn<string>('lower', ['name']), '=', eb.fn<string>('lower', [eb.val(name)])))
      .executeTakeFirst();
  }

  /** All roles of the tenant, by name. */
  async list(): Promise<Role[]> {
    return this.db.selectFrom('authority.roles').select(ROLE_COLUMNS).orderBy('name').execute();
  }

  /** Replaces a role's permissions; returns the updated role. */
  async setPermissions(id: string, permissions: string[]): Promise<Role | undefined> {
    return this.db
      .updateTable('authority.roles')
      .set({ permissions, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(ROLE_COLUMNS)
      .executeTakeFirst();
  }

  /** Deletes a role and its grants; true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('authority.roles').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /**
   * Grants a role to a user; true when newly granted, false when already held.
   *
   * @throws `ForeignKeyViolationError` when the user or role does not exist in the tenant
   */
  async grant(userId: string, roleId: string, grantedBy?: string): Promise<boolean> {
    const r = await this.db
      .insertInto('authority.user_roles')
      .values({ user_id: userId, role_id: roleId, granted_by: grantedBy ?? null })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'role_id']).doNothing())
      .executeTakeFirst();
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** Takes a role away from a user; true when it was held. */
  async revoke(userId: string, roleId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('authority.user_roles')
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** The roles granted to a user, by name. */
  async rolesOf(userId: string): Promise<Role[]> {
    return this.db
      .selectFrom('authority.roles as r')
      .innerJoin('authority.user_roles as ur', (j) => j.onRef('ur.tenant_id', '=', 'r.tenant_id').onRef('ur.role_id', '=', 'r.id'))
      .select(qualifiedColumns('r', ROLE_COLUMNS))
      .where('ur.user_id', '=', userId)
      .orderBy('r.name')
      .execute();
  }

  /** The distinct permissions a user holds through their roles, sorted. */
  async permissionsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('authority.user_roles as ur')
      .innerJoin('authority.roles as r', (j) => j.onRef('r.tenant_id', '=', 'ur.tenant_id').onRef('r.id', '=', 'ur.role_id'))
      .select(sql<string>`unnest(r.permissions)`.as('permission'))
      .distinct()
      .where('ur.user_id', '=', userId)
      .orderBy('permission')
      .execute();
    return rows.map((r) => r.permission);
  }
}
