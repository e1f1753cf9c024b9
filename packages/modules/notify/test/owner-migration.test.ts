import { ownerMigrationSuite } from '@stellaops/module-testkit';
import { migrations, REQUIRED_ROLES } from '../src/index.js';

// The production path: migrations run as an owner role that is neither superuser nor CREATEROLE
// (like stella-db up's stellaops_owner), after the module's roles (app and worker) were created.
ownerMigrationSuite({
  migrations,
  requiredRoles: REQUIRED_ROLES,
  migrationIds: [
    'V001_ChannelsAndRules',
    'V002_Deliveries',
    'V003_WorkerReadsMigrations',
    'V004_VerifiedTenant',
    'V005_RowTenantTags',
    'V006_TenantTagRotation',
  ],
  tables: ['channels', 'deliveries', 'rules'],
  tenantRow: { table: 'notify.channels', insert: "insert into notify.channels (tenant_id, name, kind) values ('acme', 'mail', 'email')" },
  tagMigration: 'V005_RowTenantTags',
});
