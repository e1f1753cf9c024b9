#!/usr/bin/env node
// Sums the vitest JSON reports that each package wrote (STELLAOPS_TEST_REPORT_DIR)
// and prints one plain line: "N passed, N failed" (", N skipped" when any).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: test-totals.mjs <report dir>');
  process.exit(2);
}
let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
for (const f of files) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  suitesFailed += r.numFailedTestSuites ?? 0;
  console.log(`  ${f.replace(/\.json$/, '')}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''}`);
}
if (files.length === 0) console.log('no test reports were written');
// A file that failed to load counts as a failure even if no test inside it ran.
if (suitesFailed > 0 && failed === 0) failed = suitesFailed;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
