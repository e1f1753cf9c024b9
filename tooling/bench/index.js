// @ts-check
import { mkdirSync, writeFileSync } from 'node:fs';
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
