import type { QueueDepth } from '@stellaops/module-notify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a claimed delivery ended in this worker. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'dead' | 'released' | 'unsettled';

/**
 * The worker's Prometheus metrics on their own registry: process metrics
 * (prom-client defaults), deliveries by outcome, delivery duration, claims,
 * in-flight work, database errors by operation, readiness, and the queue depth
 * read from the database at scrape time (postgres-core's pool metrics are added
 * by the service with `registerPoolMetrics`).
 *
 * @example
 * ```ts
 * const metrics = new WorkerMetrics(() => new DeliveryQueue(ds.db).depth());
 * metrics.deliveries.inc({ outcome: 'delivered' });
 * res.end(await metrics.registry.metrics());
 * ```
 */
export class WorkerMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  /** `stellaops_notify_deliveries_total{outcome}`. */
  readonly deliveries: Counter<'outcome'>;
  /** `stellaops_notify_delivery_duration_seconds{outcome}`: one attempt, channel read to settled. */
  readonly duration: Histogram<'outcome'>;
  /** `stellaops_notify_claimed_total`. */
  readonly claimed: Counter;
  /** `stellaops_notify_in_flight`. */
  readonly inFlight: Gauge;
  /** `stellaops_notify_db_errors_total{operation}`. */
  readonly dbErrors: Counter<'operation'>;
  /** `stellaops_notify_worker_ready` (1 when the last readiness check passed). */
  readonly ready: Gauge;

  /** @param readDepth reads the queue depth (called at scrape time; a failure leaves the last values and counts an error) */
  constructor(readDepth: () => Promise<QueueDepth>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.deliveries = new Counter({
      name: 'stellaops_notify_deliveries_total',
      help: 'Claimed deliveries by outcome in this worker.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['delivered', 'retry', 'dead', 'released', 'unsettled'] satisfies DeliveryOutcome[])
      this.deliveries.inc({ outcome }, 0);
    this.duration = new Histogram({
      name: 'stellaops_notify_delivery_duration_seconds',
      help: 'Time of one delivery attempt, from reading the channel to settling it.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.claimed = new Counter({ name: 'stellaops_notify_claimed_total', help: 'Deliveries claimed by this worker.', registers });
    this.inFlight = new Gauge({ name: 'stellaops_notify_in_flight', help: 'Deliveries this worker holds right now.', registers });
    this.dbErrors = new Counter({
      name: 'stellaops_notify_db_errors_total',
      help: 'Database errors by operation (claim, channel, settle, depth, sweep).',
      labelNames: ['operation'],
      registers,
    });
    this.ready = new Gauge({ name: 'stellaops_notify_worker_ready', help: '1 when the last readiness check passed.', registers });
    const dbErrors = this.dbErrors;
    new Gauge({
      name: 'stellaops_notify_queue_depth',
      help: 'Notify deliveries by state (pending, processing, due, dead), all tenants, read at scrape time.',
      labelNames: ['state'],
      registers,
      async collect() {
        try {
          const depth = await readDepth();
          for (const [state, n] of Object.entries(depth) as [string, number][]) this.set({ state }, n);
        } catch {
          dbErrors.inc({ operation: 'depth' });
        }
      },
    });
  }
}
