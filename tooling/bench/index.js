// @ts-check
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The value at percentile `p` (0-100) of `samples`, nearest-rank method.
 * @param {number[]} samples
 * @param {number} p
 */
export function percentile(samples, p) {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return /** @type {number} */ (sorted[rank]);
}

/**
 * Milliseconds taken by `fn`, with sub-millisecond resolution.
 * @template T
 * @param {() => Promise<T> | T} fn
 * @returns {Promise<[number, T]>}
 */
export async function timeMs(fn) {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, value];
}

/**
 * Prints the metrics as a table and writes `bench/results/<scenario>.json`
 * at the repository root as `{ scenario, metrics, units, ... }`.
 * @param {string} scenario
 * @param {Record<string, number>} metrics
 * @param {Record<string, string>} units
 * @param {Record<string, unknown>} [extra] context (machine, settings, notes)
 * @returns {string} the path written
 */
export function writeBenchResult(scenario, metrics, units, extra = {}) {
  const rows = Object.entries(metrics).map(([name, value]) => [
    name,
    Number.isInteger(value) ? String(value) : value.toFixed(3),
    units[name] ?? '',
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...[['metric', 'value', 'unit'], ...rows].map((r) => String(r[i]).length)));
  const line = (/** @type {string[]} */ r) => r.map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  console.log(`\nbench ${scenario}`);
  console.log(line(['metric', 'value', 'unit']));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(/** @type {string[]} */ (r)));
  const out = join(repoRoot, 'bench', 'results', `${scenario}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const doc = { scenario, metrics, units, ...extra, recordedAt: new Date().toISOString(), node: process.version };
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
  return out;
}

/**
 * The median of `samples` (the mean of the middle two for an even count);
 * NaN when there are none.
 * @param {number[]} samples
 */
export function median(samples) {
  if (samples.length === 0) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return /** @type {number} */ (s.length % 2 ? s[m] : /** @type {number} */ (s[m - 1] + /** @type {number} */ (s[m])) / 2);
}

/**
 * Runs `op` in `workers` concurrent loops, each repeating it until `ms`
 * milliseconds have passed; returns the operations per second of all loops.
 * @param {() => Promise<unknown>} op
 * @param {number} ms
 * @param {number} [workers]
 * @returns {Promise<number>}
 */
export async function slice(op, ms, workers = 8) {
  const loop = async (/** @type {number} */ until) => {
    let n = 0;
    while (performance.now() < until) {
      await op();
      n++;
    }
    return n;
  };
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: workers }, () => loop(t0 + ms)));
  return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
}

/**
 * Paired measurement: the reference and candidate measurements alternate
 * (ABBA…) so that load drifting on a shared machine hits both, after one
 * warm-up run of each. The ratio (candidate / reference) is the median of the
 * per-pair ratios, rounded to 3 decimals; the rates are the medians, rounded.
 * @param {() => Promise<number>} reference one measurement (e.g. a {@link slice}), a rate
 * @param {() => Promise<number>} candidate the same for the candidate
 * @param {number} pairs
 * @returns {Promise<{ ratio: number; refQps: number; candQps: number }>}
 */
export async function pair(reference, candidate, pairs) {
  await reference();
  await candidate();
  /** @type {number[]} */ const ratios = [];
  /** @type {number[]} */ const refs = [];
  /** @type {number[]} */ const cands = [];
  for (let i = 0; i < pairs; i++) {
    let a;
    let b;
    if (i % 2 === 0) {
      a = await reference();
      b = await candidate();
    } else {
      b = await candidate();
      a = await reference();
    }
    refs.push(a);
    cands.push(b);
    ratios.push(b / a);
  }
  return { ratio: Math.round(median(ratios) * 1000) / 1000, refQps: Math.round(median(refs)), candQps: Math.round(median(cands)) };
}

/** The machine a result was measured on, for the `machine` field of {@link writeBenchResult}'s extra. */
export function benchMachine() {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model };
}

/**
 * Runs `cleanups` last first, each once; one that throws does not stop the others (best effort).
 * @param {Array<() => unknown>} cleanups
 */
export async function runCleanups(cleanups) {
  for (const c of [...cleanups].reverse()) {
    try {
      await c();
    } catch {
      /* best effort */
    }
  }
}
