/**
 * `@stellaops/module-notify`: Notify's PostgreSQL schema (`notify`), its
 * migrations, typed repositories and the delivery work queue. Repositories
 * take a tenant-bound `Kysely<DB>` from postgres-core (`ds.forTenant(id)` or a
 * `withTenant` transaction); row level security keeps every tenant to its own
 * rows. Workers claim deliveries across tenants as the worker role.
 *
 * @packageDocumentation
 */
export { migrations } from './migrations/migration-set.js';
export { APP_ROLE, WORKER_ROLE, NOTIFY_SCHEMA, REQUIRED_ROLES } from './database/roles.js';
export { ChannelRepository, type ChannelKind, type CreateChannelInput } from './channels/channel-repository.js';
export { RuleRepository, type CreateRuleInput } from './rules/rule-repository.js';
export { DeliveryRepository, type EnqueueDeliveryInput, type EnqueueResult } from './deliveries/delivery-repository.js';
export {
  DeliveryQueue,
  DEFAULT_BACKOFF,
  type BackoffPolicy,
  type DeliveryClaimOptions,
  type DeliveryRef,
  type FailOptions,
  type QueueDepth,
} from './deliveries/delivery-queue.js';
export { DEFAULT_MAX_ATTEMPTS, type DeliveryStatus } from './deliveries/delivery-status.js';
export type { Channel, Delivery, Rule, Untagged } from './database/rows.js';
// the generated table types; the row aliases above (without tenant_tag) take the place of the generated ones of the same name
export type * from './generated/db.js';
