// node --test scripts/ (run by .ci/run): the totals line .ci/run ends with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const script = new URL('./test-totals.mjs', import.meta.url).pathname;

function totals(reports, ...args) {
  const dir = mkdtempSync(join(tmpdir(), 'totals-'));
  mkdirSync(join(dir, 'vitest'));
  for (const [name, r] of Object.entries(reports)) writeFileSync(join(dir, 'vitest', `${name}.json`), JSON.stringify(r));
  const run = spawnSync(process.execPath, [script, dir, ...args], { encoding: 'utf8' });
  return { code: run.status, last: run.stdout.trim().split('\n').at(-1) };
}

describe('test-totals', () => {
  it('sums every package and ends with the plain line', () => {
    const r = totals({ a: { numPassedTests: 3, numFailedTests: 0 }, b: { numPassedTests: 2, numFailedTests: 0, numPendingTests: 1 } });
    assert.deepEqual(r, { code: 0, last: '5 passed, 0 failed, 1 skipped' });
  });

  it('fails on a failed test, and on a test file that did not load', () => {
    assert.deepEqual(totals({ a: { numPassedTests: 3, numFailedTests: 1 } }), { code: 1, last: '3 passed, 1 failed' });
    assert.deepEqual(totals({ a: { numPassedTests: 3, numFailedTests: 0, numFailedTestSuites: 1 } }), {
      code: 1,
      last: '3 passed, 1 failed',
    });
  });

  it('fails when no package wrote a report, unless --allow-none (a pull request touching no package)', () => {
    assert.deepEqual(totals({}), { code: 1, last: '0 passed, 0 failed' });
    assert.deepEqual(totals({}, '--allow-none'), { code: 0, last: '0 passed, 0 failed' });
  });
});
