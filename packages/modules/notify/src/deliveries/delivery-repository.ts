import { sql, type Kysely } from 'kysely';
import type { DB, JsonValue } from '../generated/db.js';
import { DELIVERY_COLUMNS, type Delivery } from '../database/rows.js';
import { DEFAULT_MAX_ATTEMPTS } from './delivery-status.js';

/** What {@link DeliveryRepository.enqueue} takes. */
export interface EnqueueDeliveryInput {
  /** The channel to deliver to. */
  channelId: string;
  /** The rule that produced it, if any. */
  ruleId?: string | null;
  /** Unique per tenant: enqueueing the same key again returns the first delivery instead of adding one. */
  idempotencyKey: string;
  /** What to deliver. */
  payload: JsonValue;
  /** Attempts before the delivery is dead-lettered (default {@link DEFAULT_MAX_ATTEMPTS}). */
  maxAttempts?: number;
  /** Not before this many seconds from now (default 0: due at once). */
  delaySeconds?: number;
}

/** Result of {@link DeliveryRepository.enqueue}. */
export interface EnqueueResult {
  /** The delivery: the new one, or the one enqueued earlier with the same idempotency key. */
  delivery: Delivery;
  /** False when the idempotency key was already used (nothing was added). */
  created: boolean;
}

/**
 * The session tenant's side of the delivery queue: enqueue (idempotent per
 * key), inspect, and redrive dead letters. Workers use {@link DeliveryQueue}.
 *
 * @example
 * ```ts
 * const deliveries = new DeliveryRepository(ds.forTenant('acme'));
 * const { delivery, created } = await deliveries.enqueue({ channelId, idempotencyKey: `scan:${scanId}:ops`, payload: { scanId } });
 * ```
 */
export class DeliveryRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Notify's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Adds a delivery unless the tenant already has one with the same
   * idempotency key, in one statement that is safe under concurrency
   * (`insert … on conflict (tenant_id, idempotency_key) do update … returning`,
   * a no-op update that returns the existing row; `created` is `xmax = 0`).
   * A repeated key returns the first delivery unchanged, whatever its state.
   *
   * @throws `ForeignKeyViolationError` when the channel or rule does not exist in the tenant
   */
  async enqueue(input: EnqueueDeliveryInput): Promise<EnqueueResult> {
    const row = await this.db
      .insertInto('notify.deliveries')
      .values({
        channel_id: input.channelId,
        rule_id: input.ruleId ?? null,
        idempotency_key: input.idempotencyKey,
        payload: JSON.stringify(input.payload),
        max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        next_attempt_at: sql<Date>`now() + make_interval(secs => ${input.delaySeconds ?? 0})`,
      })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'idempotency_key']).doUpdateSet({ idempotency_key: (eb) => eb.ref('excluded.idempotency_key') }),
      )
      .returning(DELIVERY_COLUMNS)
      .returning(sql<boolean>`xmax = 0`.as('created'))
      .executeTakeFirstOrThrow();
    const { created, ...delivery } = row;
    return { delivery, created };
  }

  /** The delivery with this id, if any. */
  async findById(id: string): Promise<Delivery | undefined> {
    return this.db.selectFrom('notify.deliveries').select(DELIVERY_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** The delivery with this idempotency key, if any. */
  async findByIdempotencyKey(idempotencyKey: string): Promise<Delivery | undefined> {
    return this.db
      .selectFrom('notify.deliveries')
      .select(DELIVERY_COLUMNS)
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
  }

  /** Dead letters, most recently dead first. */
  async listDeadLetters(page: { limit?: number; offset?: number } = {}): Promise<Delivery[]> {
    return this.db
      .selectFrom('notify.deliveries')
      .select(DELIVERY_COLUMNS)
      .where('status', '=', 'dead')
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(page.limit ?? 100)
      .offset(page.offset ?? 0)
      .execute();
  }

  /** Puts a dead letter back in the queue with a fresh budget of attempts, due now; returns it (undefined unless it was dead). */
  async redrive(id: string): Promise<Delivery | undefined> {
    return this.db
      .updateTable('notify.deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', '=', 'dead')
      .returning(DELIVERY_COLUMNS)
      .executeTakeFirst();
  }
}
