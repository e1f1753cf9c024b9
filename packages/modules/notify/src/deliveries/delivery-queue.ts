import { qualifiedColumns } from '@stellaops/postgres-core';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../generated/db.js';
import { DELIVERY_COLUMNS, type Delivery } from '../database/rows.js';

/** Exponential backoff after a failed attempt: `min(maxSeconds, baseSeconds · 2^(attempts − 1))`. */
export interface BackoffPolicy {
  /** Delay after the first failed attempt, in seconds (> 0). */
  baseSeconds: number;
  /** Cap of one delay, in seconds. */
  maxSeconds: number;
}

/** Default backoff: 10 s, 20 s, 40 s… up to one hour. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseSeconds: 10, maxSeconds: 3600 };

/** What {@link DeliveryQueue.claimDue} takes. */
export interface DeliveryClaimOptions {
  /** Who claims (recorded in `locked_by`; settling requires the same id). */
  workerId: string;
  /** Most deliveries to claim (default 10). */
  limit?: number;
  /** How long the claim holds, in seconds (default 60); then the delivery is due again. */
  leaseSeconds?: number;
}

/** Identifies a claimed delivery (a claimed row has both). */
export interface DeliveryRef {
  /** Its tenant. */
  tenant_id: string;
  /** Its id. */
  id: string;
}

/** Result of {@link DeliveryQueue.depth}. */
export interface QueueDepth {
  /** Waiting deliveries (due now or later). */
  pending: number;
  /** Claimed deliveries (leased to a worker). */
  processing: number;
  /** Pending or lease-expired deliveries due now with attempts left: what a worker would claim. */
  due: number;
  /** Dead letters. */
  dead: number;
}

/** What {@link DeliveryQueue.fail} takes besides the delivery. */
export interface FailOptions {
  /** Who failed it (must hold the claim). */
  workerId: string;
  /** What went wrong (kept in `last_error`, at most 2000 characters; never put secrets in it). */
  error: string;
  /** Backoff (default {@link DEFAULT_BACKOFF}). */
  backoff?: BackoffPolicy;
  /** Dead-letter now, whatever attempts remain (e.g. the receiver rejected the payload). */
  permanent?: boolean;
}

/**
 * The worker's side of the delivery queue: claim due deliveries, then settle
 * each as delivered or failed. Every method is one statement.
 *
 * Claiming is `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)`:
 * concurrent workers never wait on each other and never claim the same
 * delivery; a claim sets `processing`, counts the attempt and leases the row
 * until `next_attempt_at`. A worker that dies loses its lease; the delivery is
 * then due again and another worker claims it (its late `complete`/`fail`
 * finds nothing). Rows are visible per RLS: over the worker role's data source
 * (`stellaops_notify_worker`, no tenant) it sees every tenant's deliveries;
 * over a tenant-bound Kysely of the app role, only that tenant's.
 *
 * @example
 * ```ts
 * const queue = new DeliveryQueue(workerDs.db);
 * for (const d of await queue.claimDue({ workerId, limit: 20, leaseSeconds: 60 })) {
 *   try { await send(d); await queue.complete(d, workerId); }
 *   catch (e) { await queue.fail(d, { workerId, error: String(e) }); }
 * }
 * ```
 */
export class DeliveryQueue {
  /** @param db a Kysely over Notify's `DB`: the worker role's (all tenants) or a tenant-bound one of the app role */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Claims up to `limit` due deliveries (pending and due, or processing with
   * an expired lease, with attempts left), oldest due first.
   */
  async claimDue(options: DeliveryClaimOptions): Promise<Delivery[]> {
    const due = this.db
      .selectFrom('notify.deliveries')
      .select(['tenant_id', 'id'])
      .where('status', 'in', ['pending', 'processing'])
      .where('next_attempt_at', '<=', sql<Date>`now()`)
      .whereRef('attempts', '<', 'max_attempts')
      .orderBy('next_attempt_at')
      .orderBy('tenant_id')
      .orderBy('id')
      .limit(options.limit ?? 10)
      .forUpdate()
      .skipLocked();
    return this.db
      .updateTable('notify.deliveries as d')
      .from(due.as('c'))
      .set((eb) => ({
        status: 'processing',
        attempts: eb('d.attempts', '+', 1),
        locked_by: options.workerId,
        next_attempt_at: sql<Date>`now() + make_interval(secs => ${options.leaseSeconds ?? 60})`,
        updated_at: sql<Date>`now()`,
      }))
      .whereRef('d.tenant_id', '=', 'c.tenant_id')
      .whereRef('d.id', '=', 'c.id')
      .returning(qualifiedColumns('d', DELIVERY_COLUMNS))
      .execute();
  }

  /** Marks a claimed delivery delivered; undefined when `workerId` no longer holds its claim. */
  async complete(delivery: DeliveryRef, workerId: string): Promise<Delivery | undefined> {
    return this.db
      .updateTable('notify.deliveries')
      .set({
        status: 'delivered',
        next_attempt_at: null,
        locked_by: null,
        last_error: null,
        delivered_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', delivery.tenant_id)
      .where('id', '=', delivery.id)
      .where('status', '=', 'processing')
      .where('locked_by', '=', workerId)
      .returning(DELIVERY_COLUMNS)
      .executeTakeFirst();
  }

  /**
   * Records a failed attempt of a claimed delivery: back to `pending`, due
   * after the backoff for its attempt count, or `dead` after its last allowed
   * attempt (or at once when `permanent`). Undefined when `workerId` no longer
   * holds the claim.
   */
  async fail(delivery: DeliveryRef, options: FailOptions): Promise<Delivery | undefined> {
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const dead = sql<boolean>`(${options.permanent === true} or attempts >= max_attempts)`;
    const delay = sql<number>`least(${backoff.maxSeconds}::float8, ${backoff.baseSeconds}::float8 * power(2, attempts - 1))`;
    return this.db
      .updateTable('notify.deliveries')
      .set({
        status: sql<string>`case when ${dead} then 'dead' else 'pending' end`,
        next_attempt_at: sql<Date | null>`case when ${dead} then null else now() + make_interval(secs => ${delay}) end`,
        locked_by: null,
        last_error: options.error.slice(0, 2000),
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', delivery.tenant_id)
      .where('id', '=', delivery.id)
      .where('status', '=', 'processing')
      .where('locked_by', '=', options.workerId)
      .returning(DELIVERY_COLUMNS)
      .executeTakeFirst();
  }

  /**
   * Gives a claimed delivery back to the queue without counting the attempt
   * (a worker shutting down before it could finish): `pending`, due now, the
   * attempt counter restored. Undefined when `workerId` no longer holds the claim.
   * A receiver may still have seen an interrupted attempt: deliveries are
   * at-least-once, receivers dedupe on the idempotency key.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => Promise.all(inFlight.map((d) => queue.release(d, workerId))));
   * ```
   */
  async release(delivery: DeliveryRef, workerId: string): Promise<Delivery | undefined> {
    return this.db
      .updateTable('notify.deliveries')
      .set({
        status: 'pending',
        attempts: sql<number>`greatest(attempts - 1, 0)`,
        next_attempt_at: sql<Date>`now()`,
        locked_by: null,
        updated_at: sql<Date>`now()`,
      })
      .where('tenant_id', '=', delivery.tenant_id)
      .where('id', '=', delivery.id)
      .where('status', '=', 'processing')
      .where('locked_by', '=', workerId)
      .returning(DELIVERY_COLUMNS)
      .executeTakeFirst();
  }

  /**
   * Queue depth as this Kysely sees it (every tenant for the worker role, the
   * session tenant otherwise): live deliveries by status, how many of them are
   * due now, and dead letters. One statement over the partial indexes.
   *
   * @example
   * ```ts
   * const { due, dead } = await new DeliveryQueue(workerDs.db).depth();
   * ```
   */
  async depth(): Promise<QueueDepth> {
    const row = await this.db
      .selectFrom('notify.deliveries')
      .select([
        sql<string>`count(*) filter (where status = 'pending')`.as('pending'),
        sql<string>`count(*) filter (where status = 'processing')`.as('processing'),
        sql<string>`count(*) filter (where status in ('pending', 'processing') and next_attempt_at <= now() and attempts < max_attempts)`.as(
          'due',
        ),
        sql<string>`count(*) filter (where status = 'dead')`.as('dead'),
      ])
      .where('status', 'in', ['pending', 'processing', 'dead'])
      .executeTakeFirstOrThrow();
    return { pending: Number(row.pending), processing: Number(row.processing), due: Number(row.due), dead: Number(row.dead) };
  }

  /**
   * Dead-letters deliveries whose last allowed attempt was claimed and whose
   * lease expired without an outcome (the worker died on the last attempt);
   * `claimDue` never re-claims them. Returns how many.
   */
  async deadLetterAbandoned(): Promise<number> {
    const r = await this.db
      .updateTable('notify.deliveries')
      .set({
        status: 'dead',
        next_attempt_at: null,
        locked_by: null,
        last_error: 'lease expired on the last attempt',
        updated_at: sql<Date>`now()`,
      })
      .where('status', '=', 'processing')
      .where('next_attempt_at', '<=', sql<Date>`now()`)
      .whereRef('attempts', '>=', 'max_attempts')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
