import { Gauge, Histogram, type Registry } from 'prom-client';
import type { SharedPool } from '../data-source/pool-handle.js';

/** Options of {@link registerPoolMetrics}. */
export interface PoolMetricsOptions {
  /** Metric name prefix (default `stellaops_pg_`). */
  prefix?: string;
  /** Value of the `pool` label (default: the redacted connection string's host/db). */
  poolLabel?: string;
  /** Histogram buckets for acquire wait, seconds. */
  acquireBuckets?: number[];
  /** Histogram buckets for query duration, seconds. */
  queryBuckets?: number[];
}

/** Handle returned by {@link registerPoolMetrics}. */
export interface PoolMetrics {
  /** Stops timing and removes the metrics from the registry. */
  unregister(): void;
}

/**
 * Registers pool metrics on `registry`: gauges `<prefix>pool_connections_total`,
 * `…_idle`, `…_waiting` (read at scrape time from the pool) and histograms
 * `<prefix>pool_acquire_wait_seconds`, `<prefix>query_duration_seconds`
 * (observed by every data source on that pool). Label: `pool`.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * registerPoolMetrics(ds, registry);
 * app.get('/metrics', async (_q, r) => r.type(registry.contentType).send(await registry.metrics()));
 * ```
 */
export function registerPoolMetrics(
  source: SharedPool | { readonly sharedPool: SharedPool },
  registry: Registry,
  options: PoolMetricsOptions = {},
): PoolMetrics {
  const shared = 'sharedPool' in source ? source.sharedPool : source;
  const prefix = options.prefix ?? 'stellaops_pg_';
  const label = options.poolLabel ?? shared.displayName.replace(/^postgres:\/\/[^@]*@/, '').replace(/\?.*$/, '');
  const pool = shared.pool;
  const gauge = (name: string, help: string, read: () => number): Gauge<'pool'> =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.set({ pool: label }, read());
      },
    });
  void [
    gauge('pool_connections_total', 'Connections open in the pool (idle + in use).', () => pool.totalCount),
    gauge('pool_connections_idle', 'Idle connections in the pool.', () => pool.idleCount),
    gauge('pool_connections_waiting', 'Callers waiting for a pooled connection.', () => pool.waitingCount),
  ];
  const acquire = new Histogram({
    name: `${prefix}pool_acquire_wait_seconds`,
    help: 'Time spent waiting to check out a pooled connection.',
    labelNames: ['pool'],
    buckets: options.acquireBuckets ?? [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [registry],
  });
  const query = new Histogram({
    name: `${prefix}query_duration_seconds`,
    help: 'Duration of one statement including its round trip.',
    labelNames: ['pool'],
    buckets: options.queryBuckets ?? [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    registers: [registry],
  });
  const acquireChild = acquire.labels({ pool: label });
  const queryChild = query.labels({ pool: label });
  shared.instrumentation = {
    onAcquire: (s) => acquireChild.observe(s),
    onQuery: (s) => queryChild.observe(s),
  };
  return {
    unregister() {
      shared.instrumentation = undefined;
      for (const name of [
        'pool_connections_total',
        'pool_connections_idle',
        'pool_connections_waiting',
        'pool_acquire_wait_seconds',
        'query_duration_seconds',
      ]) {
        registry.removeSingleMetric(`${prefix}${name}`);
      }
    },
  };
}
