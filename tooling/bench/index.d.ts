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
