#!/usr/bin/env node
// Prints one coverage row per package (lines, branches, functions) from the
// `coverage-summary.json` each package wrote to <report dir>/coverage/<pkg>/
// (see tooling/vitest), and fails when a package is under its floor in
// scripts/coverage-thresholds.json (set just below measured figures; raise
// them as tests grow, never lower them to let a change in).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The metrics shown and enforced, in table order. */
export const METRICS = ['lines', 'branches', 'functions'];

/**
 * Compares each package's coverage with its floor.
 * @param {Record<string, Record<string, { pct: number }>>} summaries package → `total` of its coverage-summary.json
 * @param {{ default: Record<string, number>, packages: Record<string, Record<string, number>> }} thresholds
 * @returns {{ rows: { pkg: string, pct: Record<string, number>, floor: Record<string, number>, own: boolean }[], failures: string[] }}
 */
export function checkCoverage(summaries, thresholds) {
  const rows = [];
  const failures = [];
  for (const pkg of Object.keys(summaries).sort()) {
    const own = thresholds.packages[pkg] !== undefined;
    const floor = { ...thresholds.default, ...thresholds.packages[pkg] };
    const pct = {};
    for (const m of METRICS) {
      const value = summaries[pkg][m]?.pct;
      // istanbul reports "Unknown" (a string) when a package has nothing of that kind: nothing to miss
      pct[m] = typeof value === 'number' ? value : 100;
      if (pct[m] < floor[m]) failures.push(`${pkg}: ${m} ${pct[m].toFixed(2)}% is under its floor ${floor[m]}%`);
    }
    rows.push({ pkg, pct, floor, own });
  }
  return { rows, failures };
}

/** The table as text lines: `package  lines  branches  functions` with each floor. */
export function formatTable(rows) {
  const width = Math.max('package'.length, ...rows.map((r) => r.pkg.length));
  const cell = (pct, floor) => `${pct.toFixed(1).padStart(5)}% (≥${String(floor).padStart(2)})`;
  const lines = [`${'package'.padEnd(width)}  ${METRICS.map((m) => m.padEnd(13)).join('  ')}`];
  for (const r of rows) {
    const cells = METRICS.map((m) => cell(r.pct[m], r.floor[m]).padEnd(13)).join('  ');
    lines.push(`${r.pkg.padEnd(width)}  ${cells}${r.own ? '' : '  (default floor)'}`.trimEnd());
  }
  return lines;
}

function readSummaries(dir) {
  const root = join(dir, 'coverage');
  const summaries = {};
  if (!existsSync(root)) return summaries;
  for (const pkg of readdirSync(root)) {
    const file = join(root, pkg, 'coverage-summary.json');
    if (existsSync(file)) summaries[pkg] = JSON.parse(readFileSync(file, 'utf8')).total;
  }
  return summaries;
}

function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: coverage-table.mjs <report dir>');
    process.exit(2);
  }
  const thresholds = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'coverage-thresholds.json'), 'utf8'));
  const summaries = readSummaries(dir);
  const { rows, failures } = checkCoverage(summaries, thresholds);
  if (rows.length === 0) console.log(`coverage: no coverage-summary.json under ${join(dir, 'coverage')}`);
  else for (const line of formatTable(rows)) console.log(line);
  console.log(`coverage reports (lcov, HTML): ${join(dir, 'coverage')}/<package>/`);
  for (const f of failures)
    console.log(`coverage: ${f}. Fix: add tests for the new code (scripts/coverage-thresholds.json holds the floors).`);
  process.exit(failures.length > 0 ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
