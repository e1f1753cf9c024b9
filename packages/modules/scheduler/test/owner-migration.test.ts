import { ownerMigrationSuite } from '@stellaops/module-testkit';
import { migrations, REQUIRED_ROLES } from '../src/index.js';

// The production path: migrations run as an owner role that is neither superuser nor CREATEROLE
// (like stella-db up's stellaops_owner), after the module's roles (app and worker) were created.
ownerMigrationSuite({
  migrations,
  requiredRoles: REQUIRED_ROLES,
  migrationIds: ['V001_Schedules', 'V002_CronAndRuns', 'V003_VerifiedTenant', 'V004_RowTenantTags', 'V005_TenantTagRotation'],
  tables: ['runs', 'schedules'],
  tenantRow: {
    table: 'scheduler.schedules',
    insert: "insert into scheduler.schedules (tenant_id, name, cron, next_fire_at) values ('acme', 'first', '* * * * *', now())",
  },
  tagMigration: 'V004_RowTenantTags',
});
