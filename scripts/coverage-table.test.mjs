// node --test scripts/ (run by .ci/run): coverage floors per package.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCoverage, formatTable } from './coverage-table.mjs';

const thresholds = { default: { lines: 70, branches: 60, functions: 70 }, packages: { a: { lines: 90, branches: 80, functions: 85 } } };
const total = (lines, branches, functions) => ({ lines: { pct: lines }, branches: { pct: branches }, functions: { pct: functions } });

describe('checkCoverage', () => {
  it('passes packages at or above their floors', () => {
    const { rows, failures } = checkCoverage({ a: total(90, 80, 85), b: total(70, 60, 70) }, thresholds);
    assert.deepEqual(failures, []);
    assert.deepEqual(
      rows.map((r) => [r.pkg, r.own]),
      [
        ['a', true],
        ['b', false],
      ],
    );
  });

  it('names each package and metric under its floor', () => {
    const { failures } = checkCoverage({ a: total(89.99, 80, 50), b: total(69, 60, 70) }, thresholds);
    assert.deepEqual(failures, [
      'a: lines 89.99% is under its floor 90%',
      'a: functions 50.00% is under its floor 85%',
      'b: lines 69.00% is under its floor 70%',
    ]);
  });

  it('treats "Unknown" (nothing of that kind) as fully covered', () => {
    const { failures, rows } = checkCoverage(
      { b: { lines: { pct: 'Unknown' }, branches: { pct: 'Unknown' }, functions: { pct: 'Unknown' } } },
      thresholds,
    );
    assert.deepEqual(failures, []);
    assert.equal(rows[0].pct.lines, 100);
  });

  it('prints one row per package with its floors', () => {
    const { rows } = checkCoverage({ a: total(91.26, 80.5, 85) }, thresholds);
    const [head, row] = formatTable(rows);
    assert.match(head, /^package\s+lines\s+branches\s+functions/);
    assert.match(row, /^a\s+91\.3% \(≥90\)\s+80\.5% \(≥80\)\s+85\.0% \(≥85\)$/);
  });
});
