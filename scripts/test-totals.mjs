#!/usr/bin/env node
// Sums the vitest JSON reports that each package wrote to <report dir>/vitest/
// (STELLAOPS_TEST_REPORT_DIR, see tooling/vitest) and prints one plain line:
// "N passed, N failed" (", N skipped" when any). Exit 1 on a failure, or when no
// report was written unless --allow-none (a pull request that touched no package).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const allowNone = args.includes('--allow-none');
const dir = args.find((a) => !a.startsWith('--'));
if (!dir) {
  console.error('usage: test-totals.mjs <report dir> [--allow-none]');
  process.exit(2);
}
const vitestDir = join(dir, 'vitest');
let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
const files = existsSync(vitestDir)
  ? readdirSync(vitestDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
for (const f of files) {
  const r = JSON.parse(readFileSync(join(vitestDir, f), 'utf8'));
  const pending = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += pending;
  suitesFailed += r.numFailedTestSuites ?? 0;
  console.log(
    `  ${f.replace(/\.json$/, '')}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${pending ? `, ${pending} skipped` : ''}`,
  );
}
if (files.length === 0) console.log(`no test reports were written to ${vitestDir}`);
// A file that failed to load counts as a failure even if no test inside it ran.
if (suitesFailed > 0 && failed === 0) failed = suitesFailed;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || (files.length === 0 && !allowNone) ? 1 : 0);
