import { ChannelRepository, DeliveryQueue, DeliveryRepository, type DB, type Delivery } from '@stellaops/module-notify';
import type { PostgresDataSource } from '@stellaops/postgres-core';
import type { ChannelSender, SendOutcome } from '../channels/webhook-sender.js';
import type { WorkerOptions } from '../config/worker-options.js';
import type { Logger } from '../logging/logger.js';
import type { DeliveryOutcome, WorkerMetrics } from '../metrics/worker-metrics.js';

/** What a {@link DeliveryWorker} runs on. */
export interface DeliveryWorkerDeps {
  /** Notify's data source as the worker role (claims see every tenant). */
  ds: PostgresDataSource<DB>;
  /** The `Worker` section. */
  options: WorkerOptions;
  /** Sends one delivery. */
  sender: ChannelSender;
  /** Metrics. */
  metrics: WorkerMetrics;
  /** Logger. */
  log: Logger;
}

interface InFlight {
  readonly delivery: Delivery;
  readonly done: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Error details safe to log: name, code, message (driver and core messages carry no secrets). */
function errInfo(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  return { name: e.name, message: e.message, code: (e as { code?: unknown }).code };
}

/**
 * Drains Notify's delivery queue: claims due deliveries of every tenant with
 * `FOR UPDATE SKIP LOCKED` (Notify's `DeliveryQueue`), up to `batchSize` in
 * flight; reads each delivery's channel in the delivery's tenant session (RLS);
 * sends it; settles it (delivered, retry with backoff, dead letter). Database
 * errors never stop the loop: claims back off, settlements are retried until
 * shortly before the lease ends (after that, any worker picks the delivery up
 * again). {@link stop} stops claiming, lets in-flight deliveries finish within
 * `shutdownTimeoutSeconds`, then aborts the rest and releases them to the queue.
 *
 * @example
 * ```ts
 * const worker = new DeliveryWorker({ ds, options, sender, metrics, log });
 * worker.start();
 * process.once('SIGTERM', () => void worker.stop().then(() => ds.close()));
 * ```
 */
export class DeliveryWorker {
  readonly #deps: DeliveryWorkerDeps;
  readonly #queue: DeliveryQueue;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #shutdown = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastSweep = 0;

  /** @param deps data source, options, sender, metrics, logger */
  constructor(deps: DeliveryWorkerDeps) {
    this.#deps = deps;
    this.#queue = new DeliveryQueue(deps.ds.db);
  }

  /** Deliveries held right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts the claim loop (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops claiming, waits up to `shutdownTimeoutSeconds` for in-flight
   * deliveries, then aborts the rest: each is released back to the queue
   * (pending, due now, attempt not counted). Resolves when nothing is held.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    const held = this.#inFlight.size;
    if (held > 0)
      this.#deps.log.info(
        { inFlight: held, shutdownTimeoutSeconds: this.#deps.options.shutdownTimeoutSeconds },
        'stopped claiming; finishing in-flight deliveries',
      );
    const timer = setTimeout(() => {
      if (this.#inFlight.size > 0)
        this.#deps.log.warn(
          { inFlight: this.#inFlight.size },
          'shutdown timeout: aborting in-flight deliveries and releasing them to the queue',
        );
      this.#shutdown.abort();
    }, this.#deps.options.shutdownTimeoutSeconds * 1000);
    try {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight.values()].map((f) => f.done));
    } finally {
      clearTimeout(timer);
    }
  }

  async #run(): Promise<void> {
    const { options, log, metrics } = this.#deps;
    let failures = 0;
    while (!this.#stopping) {
      const free = options.batchSize - this.#inFlight.size;
      if (free <= 0) {
        await Promise.race([...[...this.#inFlight.values()].map((f) => f.done), this.#pause(options.pollIntervalMs)]);
        continue;
      }
      let claimed: Delivery[];
      try {
        claimed = await this.#queue.claimDue({ workerId: options.workerId, limit: free, leaseSeconds: options.leaseSeconds });
        if (failures > 0) log.info({ after: failures }, 'claiming works again');
        failures = 0;
      } catch (e) {
        failures++;
        metrics.dbErrors.inc({ operation: 'claim' });
        const wait = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        log.warn({ err: errInfo(e), failures, retryInMs: wait }, 'claiming deliveries failed; retrying');
        await this.#pause(wait);
        continue;
      }
      metrics.claimed.inc(claimed.length);
      // A claim that raced with stop() still gets processed (or released): nothing claimed is dropped.
      for (const d of claimed) this.#begin(d);
      await this.#sweepAbandoned();
      if (claimed.length < free) await this.#pause(options.pollIntervalMs);
    }
  }

  /** Waits `ms`, or less when stop() is called. */
  #pause(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Now and then: dead-letter last attempts whose worker died (Notify's `deadLetterAbandoned`). */
  async #sweepAbandoned(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastSweep < this.#deps.options.leaseSeconds * 1000) return;
    this.#lastSweep = now;
    try {
      const n = await this.#queue.deadLetterAbandoned();
      if (n > 0) {
        this.#deps.metrics.deliveries.inc({ outcome: 'dead' }, n);
        this.#deps.log.warn({ count: n }, 'dead-lettered deliveries whose last attempt was abandoned by a dead worker');
      }
    } catch (e) {
      this.#deps.metrics.dbErrors.inc({ operation: 'sweep' });
      this.#deps.log.warn({ err: errInfo(e) }, 'sweeping abandoned deliveries failed');
    }
  }

  #begin(delivery: Delivery): void {
    const key = `${delivery.tenant_id}/${delivery.id}`;
    const claimedAt = performance.now();
    const done = this.#process(delivery, claimedAt).finally(() => {
      this.#inFlight.delete(key);
      this.#deps.metrics.inFlight.set(this.#inFlight.size);
    });
    this.#inFlight.set(key, { delivery, done });
    this.#deps.metrics.inFlight.set(this.#inFlight.size);
  }

  async #process(d: Delivery, claimedAt: number): Promise<void> {
    const { ds, sender, log, metrics, options } = this.#deps;
    let outcome: SendOutcome;
    try {
      const channel = await new ChannelRepository(ds.forTenant(d.tenant_id)).findById(d.channel_id);
      outcome = channel
        ? await sender.send(channel, d, { shutdown: this.#shutdown.signal })
        : { kind: 'permanent', error: 'channel not found' };
    } catch (e) {
      metrics.dbErrors.inc({ operation: 'channel' });
      log.warn({ err: errInfo(e), tenant: d.tenant_id, delivery: d.id }, 'reading the channel failed');
      outcome = this.#shutdown.signal.aborted
        ? { kind: 'aborted', error: 'worker shutting down' }
        : { kind: 'retry', error: 'database error while reading the channel' };
    }
    const workerId = options.workerId;
    let result: DeliveryOutcome;
    let settled: Delivery | undefined;
    switch (outcome.kind) {
      case 'delivered':
        settled = await this.#settle(d, claimedAt, () => this.#queue.complete(d, workerId));
        result = 'delivered';
        break;
      case 'aborted':
        settled = await this.#settle(d, claimedAt, () => this.#queue.release(d, workerId));
        result = 'released';
        break;
      case 'retry':
      case 'permanent':
        settled = await this.#settle(d, claimedAt, () =>
          this.#queue.fail(d, { workerId, error: outcome.error, backoff: options.backoff, permanent: outcome.kind === 'permanent' }),
        );
        result = settled?.status === 'dead' ? 'dead' : 'retry';
        break;
    }
    if (settled === undefined) result = 'unsettled';
    metrics.deliveries.inc({ outcome: result });
    metrics.duration.observe({ outcome: result }, (performance.now() - claimedAt) / 1000);
    const fields = { tenant: d.tenant_id, delivery: d.id, attempt: d.attempts, outcome: result };
    if (result === 'delivered' || result === 'released') log.debug(fields, `delivery ${result}`);
    else if (result === 'unsettled')
      log.error(fields, 'delivery could not be settled before its lease ends (another worker may repeat it); the claim expires');
    else
      log.info(
        { ...fields, error: 'error' in outcome ? outcome.error : undefined, nextAttemptAt: settled?.next_attempt_at },
        result === 'dead' ? 'delivery dead-lettered' : 'delivery failed; retry scheduled',
      );
  }

  /**
   * Whether an earlier settling try of ours committed although its answer was
   * lost (a pooler restart between COMMIT and reply): the row is no longer
   * claimed and was not claimed again since (a new claim counts an attempt).
   */
  async #settledEarlier(d: Delivery): Promise<Delivery | undefined> {
    try {
      const row = await new DeliveryRepository(this.#deps.ds.forTenant(d.tenant_id)).findById(d.id);
      return row && row.status !== 'processing' && row.attempts <= d.attempts ? row : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Runs a settling statement, retrying database errors (a pooler or server
   * restart) until shortly before the lease ends, or until the shutdown
   * timeout passed. Undefined when the claim was
   * lost (lease expired and re-claimed) or time ran out.
   */
  async #settle(d: Delivery, claimedAt: number, run: () => Promise<Delivery | undefined>): Promise<Delivery | undefined> {
    const deadline = claimedAt + this.#deps.options.leaseSeconds * 1000 * 0.9;
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await run();
        // After a failed try, "not found" may mean that try committed and only its answer was lost.
        return row ?? (attempt > 0 ? await this.#settledEarlier(d) : undefined);
      } catch (e) {
        this.#deps.metrics.dbErrors.inc({ operation: 'settle' });
        const wait = Math.min(2_000, 100 * 2 ** attempt);
        // Past the shutdown timeout nobody waits any longer: the lease expiring hands the delivery to another worker.
        if (performance.now() + wait > deadline || this.#shutdown.signal.aborted) {
          this.#deps.log.error(
            { err: errInfo(e), tenant: d.tenant_id, delivery: d.id },
            'settling a delivery failed; giving up before the lease ends',
          );
          return undefined;
        }
        this.#deps.log.warn(
          { err: errInfo(e), tenant: d.tenant_id, delivery: d.id, retryInMs: wait },
          'settling a delivery failed; retrying',
        );
        await sleep(wait);
      }
    }
  }
}
