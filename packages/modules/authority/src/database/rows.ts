import type * as Db from '../generated/db.js';

/**
 * A row as the repositories return it: the generated row without
 * `tenant_tag`, the sha256 of its tenant's proof that only the tenant
 * policies read (not secret, but nothing a caller needs).
 *
 * @example
 * ```ts
 * type Plain = Untagged<Db.User>; // every column of authority.users but tenant_tag
 * ```
 */
export type Untagged<Row> = Omit<Row, 'tenant_tag'>;

/** The session tenant's record as the repositories return it (`authority.tenants` without `tenant_tag`). */
export type Tenant = Untagged<Db.Tenant>;
/** A user as the repositories return it (`authority.users` without `tenant_tag`). */
export type User = Untagged<Db.User>;
/** A role as the repositories return it (`authority.roles` without `tenant_tag`). */
export type Role = Untagged<Db.Role>;
/** An OAuth client row without `tenant_tag` (the repositories return {@link ClientView}, without its secret hash too). */
export type Client = Untagged<Db.Client>;
/** An issued token row without `tenant_tag` (the repositories return `TokenRecord`, without its hash too). */
export type Token = Untagged<Db.Token>;
/** A role grant row without `tenant_tag`. */
export type UserRole = Untagged<Db.UserRole>;

/** The columns of `authority.tenants` the repositories return (all but `tenant_tag`). */
export const TENANT_COLUMNS = ['tenant_id', 'display_name', 'status', 'created_at', 'updated_at'] as const satisfies ReadonlyArray<
  keyof Tenant
>;

/** The columns of `authority.users` the repositories return (all but `tenant_tag`). */
export const USER_COLUMNS = [
  'tenant_id',
  'id',
  'login',
  'display_name',
  'email',
  'status',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof User>;

/** The columns of `authority.roles` the repositories return (all but `tenant_tag`). */
export const ROLE_COLUMNS = [
  'tenant_id',
  'id',
  'name',
  'description',
  'permissions',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof Role>;
