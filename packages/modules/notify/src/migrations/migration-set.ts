import { defineMigrationSet } from '@stellaops/migrator';
import { NOTIFY_SCHEMA } from '../database/roles.js';
import { v001ChannelsAndRules } from './v001-channels-and-rules.js';
import { v002Deliveries } from './v002-deliveries.js';
import { v003WorkerReadsMigrations } from './v003-worker-reads-migrations.js';
import { v004VerifiedTenant } from './v004-verified-tenant.js';
import { v005RowTenantTags } from './v005-row-tenant-tags.js';
import { v006TenantTagRotation } from './v006-tenant-tag-rotation.js';

/**
 * Notify's migration set (schema `notify`, tracking table `notify._migrations`),
 * as `stella-db migrate --module notify` and the test fixture
 * (`templateMigrations(migrations)` from `@stellaops/module-testkit`) expect it.
 */
export const migrations = defineMigrationSet({
  schema: NOTIFY_SCHEMA,
  migrations: [
    v001ChannelsAndRules,
    v002Deliveries,
    v003WorkerReadsMigrations,
    v004VerifiedTenant,
    v005RowTenantTags,
    v006TenantTagRotation,
  ],
});
