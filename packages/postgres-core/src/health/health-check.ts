import type pg from 'pg';
import { mapDatabaseError } from '../errors/map-database-error.js';

/** Result of {@link checkHealth}. */
export interface HealthCheckResult {
  /** `healthy` when `select 1` answered within the timeout. */
  status: 'healthy' | 'unhealthy';
  /** Time taken, ms. */
  durationMs: number;
  /** Failure reason (typed error name + message; no secrets). */
  error?: string;
}

/** Anything exposing the shared `pg.Pool` (a data source) or the pool itself. */
export type HealthTarget = pg.Pool | { readonly pool: pg.Pool };

/**
 * Readiness probe: checks out a connection and runs `select 1`, all within its
 * own `timeoutMs` (default 2000), independent of the pool's acquire timeout and
 * the statement timeout. Never throws. A connection that timed out is destroyed.
 *
 * @example
 * ```ts
 * app.get('/health/ready', async (_req, res) => { const h = await checkHealth(ds, { timeoutMs: 1000 }); res.status(h.status === 'healthy' ? 200 : 503).json(h); });
 * ```
 */
export async function checkHealth(target: HealthTarget, options: { timeoutMs?: number } = {}): Promise<HealthCheckResult> {
  const pool = 'connect' in target ? target : target.pool;
  const timeoutMs = options.timeoutMs ?? 2000;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let client: pg.PoolClient | undefined;
  // pg-pool removes its own error listener while a client is checked out: without one, the connection
  // dying during the probe (server or pooler restart) would emit an unhandled 'error' and crash the process.
  const onError = (): void => undefined;
  const work = (async () => {
    client = await pool.connect();
    client.on('error', onError);
    if (timedOut) {
      client.removeListener('error', onError);
      client.release(true);
      return;
    }
    await client.query('select 1');
    client.removeListener('error', onError);
    client.release();
    client = undefined;
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`health check timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([work, timeout]);
    return { status: 'healthy', durationMs: performance.now() - t0 };
  } catch (e) {
    if (client) {
      client.removeListener('error', onError);
      client.release(true);
      client = undefined;
    }
    work.catch(() => undefined);
    const mapped = mapDatabaseError(e);
    const err = mapped instanceof Error ? `${mapped.name}: ${mapped.message}` : 'unknown error';
    return { status: 'unhealthy', durationMs: performance.now() - t0, error: err };
  } finally {
    clearTimeout(timer);
  }
}
