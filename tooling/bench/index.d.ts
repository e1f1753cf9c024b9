/** The value at percentile `p` (0-100) of `samples`, nearest-rank method. */
export declare function percentile(samples: number[], p: number): number;
/** Milliseconds taken by `fn`, with sub-millisecond resolution, and its value. */
export declare function timeMs<T>(fn: () => Promise<T> | T): Promise<[number, T]>;
/** Prints a table and writes `bench/results/<scenario>.json`; returns the path. */
export declare function writeBenchResult(
  scenario: string,
  metrics: Record<string, number>,
  units: Record<string, string>,
  extra?: Record<string, unknown>,
): string;
/**
 * The median of `samples` (the mean of the middle two for an even count); NaN when there are none.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export declare function median(samples: number[]): number;
/**
 * Runs `op` in `workers` (default 8) concurrent loops, each repeating it until `ms` milliseconds
 * have passed; returns the operations per second of all loops together.
 *
 * @example
 * ```ts
 * const qps = await slice(() => pool.query('select 1'), 300);
 * ```
 */
export declare function slice(op: () => Promise<unknown>, ms: number, workers?: number): Promise<number>;
/** What {@link pair} measured. */
export interface PairResult {
  /** Median of the per-pair ratios candidate / reference, 3 decimals. */
  ratio: number;
  /** Median rate of the reference, rounded. */
  refQps: number;
  /** Median rate of the candidate, rounded. */
  candQps: number;
}
/**
 * Paired measurement: `reference` and `candidate` (each one measurement returning a rate, e.g. a
 * {@link slice}) alternate ABBA… after one warm-up run of each, so that load drifting on a shared
 * machine hits both; the ratio is the median of the per-pair ratios.
 *
 * @example
 * ```ts
 * const r = await pair(() => slice(raw, 300), () => slice(scoped, 300), 12);
 * console.log(r.ratio); // e.g. 0.93: the candidate does 93 % of the reference's work
 * ```
 */
export declare function pair(reference: () => Promise<number>, candidate: () => Promise<number>, pairs: number): Promise<PairResult>;
/**
 * The machine a result was measured on (CPU count and model), for the `machine` field of
 * {@link writeBenchResult}'s `extra`.
 *
 * @example
 * ```ts
 * writeBenchResult('tenant', metrics, units, { machine: benchMachine() });
 * ```
 */
export declare function benchMachine(): { cpus: number; model: string | undefined };
/**
 * Runs `cleanups` last first, each once; one that throws does not stop the others (best effort).
 *
 * @example
 * ```ts
 * const cleanups: Array<() => unknown> = [() => server.stop()];
 * try { … } finally { await runCleanups(cleanups); }
 * ```
 */
export declare function runCleanups(cleanups: Array<() => unknown>): Promise<void>;
