import { defineMigrationSet } from '@stellaops/migrator';
import { SCHEDULER_SCHEMA } from '../database/roles.js';
import { v001Schedules } from './v001-schedules.js';
import { v002CronAndRuns } from './v002-cron-and-runs.js';
import { v003VerifiedTenant } from './v003-verified-tenant.js';
import { v004RowTenantTags } from './v004-row-tenant-tags.js';
import { v005TenantTagRotation } from './v005-tenant-tag-rotation.js';

/**
 * Scheduler's migration set (schema `scheduler`, tracking table `scheduler._migrations`),
 * as `stella-db migrate --module scheduler`, `stella-db up` and the test fixture
 * (`templateMigrations(migrations)` from `@stellaops/module-testkit`) expect it. Append new migrations here.
 */
export const migrations = defineMigrationSet({
  schema: SCHEDULER_SCHEMA,
  migrations: [v001Schedules, v002CronAndRuns, v003VerifiedTenant, v004RowTenantTags, v005TenantTagRotation],
});
