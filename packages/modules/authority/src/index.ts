/**
 * `@stellaops/module-authority`: Authority's PostgreSQL schema (`authority`),
 * its migrations and typed repositories. Repositories take a tenant-bound
 * `Kysely<DB>` from postgres-core (`ds.forTenant(id)` or a `withTenant`
 * transaction); row level security keeps every tenant to its own rows.
 *
 * @packageDocumentation
 */
export { migrations } from './migrations/migration-set.js';
export { APP_ROLE, AUTHORITY_SCHEMA, REQUIRED_ROLES } from './database/app-role.js';
export { TenantRepository, type TenantStatus } from './tenants/tenant-repository.js';
export { UserRepository, type UserStatus, type CreateUserInput } from './users/user-repository.js';
export {
  ClientRepository,
  CLIENT_SECRET_PREFIX,
  type ClientView,
  type RegisterClientInput,
  type RegisteredClient,
} from './clients/client-repository.js';
export { TokenRepository, type TokenKind, type TokenRecord, type IssueTokenInput, type IssuedToken } from './tokens/token-repository.js';
export { RoleRepository, type CreateRoleInput } from './roles/role-repository.js';
export { hashSecret } from './secrets/secret-hash.js';
export type { Client, Role, Tenant, Token, User, UserRole, Untagged } from './database/rows.js';
// the generated table types; the row aliases above (without tenant_tag) take the place of the generated ones of the same name
export type * from './generated/db.js';
