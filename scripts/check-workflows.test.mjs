// node --test scripts/ (run by .ci/run): the workflow check accepts the real
// workflow and rejects each kind of mistake it is there to catch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkWorkflow } from './check-workflows.mjs';

const real = readFileSync(new URL('../.gitea/workflows/build-test-deploy.yml', import.meta.url), 'utf8');

describe('checkWorkflow', () => {
  it('accepts the repository workflow', () => {
    assert.deepEqual(checkWorkflow(real), []);
  });

  it('rejects a misspelt job key, naming the job and the key', () => {
    const problems = checkWorkflow(real.replace('runs-on:', 'runs_on:'));
    assert.ok(
      problems.some((p) => p.includes('/jobs/test') && p.includes("'runs_on'")),
      problems.join('\n'),
    );
  });

  it('rejects a step with neither run nor uses', () => {
    const problems = checkWorkflow(real.replace('run: bash .ci/run --affected', 'rum: bash .ci/run --affected'));
    assert.ok(
      problems.some((p) => p.includes('/jobs/test/steps/')),
      problems.join('\n'),
    );
  });

  it('rejects YAML that does not parse', () => {
    assert.notDeepEqual(checkWorkflow(`${real}\n  bad: [unclosed\n`), []);
  });

  it('rejects an unknown expression context and an unclosed expression', () => {
    const typo = checkWorkflow(real.replace('${{ gitea.base_ref }}"', '${{ giteaa.base_ref }}"'));
    assert.ok(
      typo.some((p) => p.includes('"giteaa"')),
      typo.join('\n'),
    );
    const open = checkWorkflow(real.replace('${{ gitea.workflow }}', '${{ gitea.workflow }'));
    assert.ok(
      open.some((p) => p.includes('without a closing')),
      open.join('\n'),
    );
  });

  it('accepts string literals and functions in expressions', () => {
    const text = real.replace('if: always()', "if: ${{ always() && !contains(github.ref, 'x y.z') }}");
    assert.deepEqual(checkWorkflow(text), []);
  });

  it('rejects upload-artifact@v4, which refuses to run on Gitea', () => {
    const problems = checkWorkflow(real.replace('actions/upload-artifact@v3', 'actions/upload-artifact@v4'));
    assert.ok(
      problems.some((p) => p.includes('upload-artifact@v4') && p.includes('@v3')),
      problems.join('\n'),
    );
  });
});
