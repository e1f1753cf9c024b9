/**
 * `@stellaops/module-testkit`: vitest suites every module package runs
 * against its own migrations, so each new module gets the same guarantees
 * with a few lines of test code.
 *
 * @packageDocumentation
 */
export { ownerMigrationSuite, type OwnerMigrationSuiteOptions } from './owner-migration-suite.js';
export { migrationPinSuite, type MigrationPinSuiteOptions } from './migration-pin-suite.js';
export { checkMigrationPins, type CheckMigrationPinsArgs, type MigrationPinReport, type MigrationPins } from './migration-pins.js';
export { checksumsWithAlteredHelpers, ALTERED_HELPER_MARK } from './helper-drift.js';
export { templateMigrations, type TemplateMigrationsOptions } from './template-migrations.js';
export { rowTenantTagSuite, type RowTenantTagSuiteOptions } from './row-tenant-tag-suite.js';
export {
  enableRoleLogins,
  roleConnectionString,
  sessionUserAndOwner,
  TEST_ROLE_PASSWORD,
  useModuleRoles,
  type ModuleRoles,
  type ModuleRolesOptions,
} from './module-roles.js';
export {
  expectedTenantTagTable,
  tenantTagSchema,
  TAGGED_POLICY_CHECK,
  TAGGED_POLICY_USING,
  TENANT_TAG_DEFAULT,
  type TenantTagTable,
} from './tenant-tag-schema.js';
