import { ownerMigrationSuite } from '@stellaops/module-testkit';
import { migrations, REQUIRED_ROLES } from '../src/index.js';

// The production path: migrations run as an owner role that is neither superuser nor CREATEROLE
// (like stella-db up's stellaops_owner), after the app role was created.
ownerMigrationSuite({
  migrations,
  requiredRoles: REQUIRED_ROLES,
  migrationIds: [
    'V001_TenantsAndUsers',
    'V002_ClientsAndTokens',
    'V003_RolesAndGrants',
    'V004_VerifiedTenant',
    'V005_RowTenantTags',
    'V006_TenantTagRotation',
  ],
  tables: ['clients', 'roles', 'tenants', 'tokens', 'user_roles', 'users'],
  tenantRow: { table: 'authority.tenants', insert: "insert into authority.tenants (tenant_id, display_name) values ('acme', 'Acme')" },
  tagMigration: 'V005_RowTenantTags',
});
