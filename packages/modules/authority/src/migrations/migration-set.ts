import { defineMigrationSet } from '@stellaops/migrator';
import { AUTHORITY_SCHEMA } from '../database/app-role.js';
import { v001TenantsAndUsers } from './v001-tenants-and-users.js';
import { v002ClientsAndTokens } from './v002-clients-and-tokens.js';
import { v003RolesAndGrants } from './v003-roles-and-grants.js';
import { v004VerifiedTenant } from './v004-verified-tenant.js';
import { v005RowTenantTags } from './v005-row-tenant-tags.js';
import { v006TenantTagRotation } from './v006-tenant-tag-rotation.js';

/**
 * Authority's migration set (schema `authority`, tracking table
 * `authority._migrations`), as `stella-db migrate --module authority` and the
 * test fixture (`templateMigrations(migrations)` from `@stellaops/module-testkit`) expect it.
 */
export const migrations = defineMigrationSet({
  schema: AUTHORITY_SCHEMA,
  migrations: [v001TenantsAndUsers, v002ClientsAndTokens, v003RolesAndGrants, v004VerifiedTenant, v005RowTenantTags, v006TenantTagRotation],
});
