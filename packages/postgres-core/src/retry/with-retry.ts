import { mapDatabaseError } from '../errors/map-database-error.js';
import { DeadlockDetectedError, SerializationFailureError } from '../errors/database-errors.js';

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  maxAttempts?: number;
  /** First backoff in ms (default 10). */
  baseDelayMs?: number;
  /** Cap of one backoff in ms (default 1000). */
  maxDelayMs?: number;
  /**
   * Which errors to retry (default: serialization failure 40001 and deadlock 40P01
   * only — retrying after a lost connection is only safe for idempotent work).
   */
  retryOn?: (error: unknown) => boolean;
  /** Called before each retry (logging, metrics). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborts waiting between attempts. */
  signal?: AbortSignal;
  /** Random source in [0,1) (tests). */
  random?: () => number;
}

/** The default retry predicate: `40001 serialization_failure` and `40P01 deadlock_detected`. */
export function isSerializationOrDeadlock(error: unknown): boolean {
  const e = mapDatabaseError(error);
  return e instanceof SerializationFailureError || e instanceof DeadlockDetectedError;
}

/** Backoff before retry number `attempt` (1-based): "full jitter", uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * Runs `fn` (a whole unit of work, e.g. a `withTenant` call) and re-runs it on
 * serialization failures and deadlocks, with jittered exponential backoff,
 * at most `maxAttempts` times. The last error is rethrown, typed.
 *
 * @example
 * ```ts
 * await withRetry(() => ds.withTenant('acme', (trx) => transfer(trx, a, b), { isolationLevel: 'serializable' }));
 * ```
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const base = options.baseDelayMs ?? 10;
  const max = options.maxDelayMs ?? 1000;
  const retryOn = options.retryOn ?? isSerializationOrDeadlock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const mapped = mapDatabaseError(e);
      if (attempt >= maxAttempts || !retryOn(mapped)) throw mapped;
      const delay = backoffDelayMs(attempt, base, max, options.random);
      options.onRetry?.(mapped, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // The abort reason is passed on as is (an AbortError unless the caller chose another), like the caller gave it.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
