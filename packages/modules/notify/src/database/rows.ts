import type * as Db from '../generated/db.js';

/**
 * A row as the repositories and the queue return it: the generated row
 * without `tenant_tag`, the sha256 of its tenant's proof that only the
 * tenant policies read (not secret, but nothing a caller needs).
 *
 * @example
 * ```ts
 * type Plain = Untagged<Db.Delivery>; // every column of notify.deliveries but tenant_tag
 * ```
 */
export type Untagged<Row> = Omit<Row, 'tenant_tag'>;

/** A channel as the repositories return it (`notify.channels` without `tenant_tag`). */
export type Channel = Untagged<Db.Channel>;
/** A rule as the repositories return it (`notify.rules` without `tenant_tag`). */
export type Rule = Untagged<Db.Rule>;
/** A delivery as the repositories and the queue return it (`notify.deliveries` without `tenant_tag`). */
export type Delivery = Untagged<Db.Delivery>;

/** The columns of `notify.channels` the repositories return (all but `tenant_tag`). */
export const CHANNEL_COLUMNS = [
  'tenant_id',
  'id',
  'name',
  'kind',
  'config',
  'enabled',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof Channel>;

/** The columns of `notify.rules` the repositories return (all but `tenant_tag`). */
export const RULE_COLUMNS = [
  'tenant_id',
  'id',
  'name',
  'event_kind',
  'channel_id',
  'filter',
  'enabled',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof Rule>;

/** The columns of `notify.deliveries` the repositories and the queue return (all but `tenant_tag`). */
export const DELIVERY_COLUMNS = [
  'tenant_id',
  'id',
  'channel_id',
  'rule_id',
  'idempotency_key',
  'payload',
  'status',
  'attempts',
  'max_attempts',
  'next_attempt_at',
  'locked_by',
  'last_error',
  'created_at',
  'updated_at',
  'delivered_at',
] as const satisfies ReadonlyArray<keyof Delivery>;
