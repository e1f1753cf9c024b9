// node --test scripts/ (run by .ci/run): the document check accepts the
// repository's documents and catches each kind of staleness it is there for.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { checkDocs } from './check-docs.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A tiny repository: one lint rule, one test file, RULES.md and VERIFICATION.md. */
function fakeRepo(files = {}) {
  const root = mkdtempSync(join(tmpdir(), 'check-docs-'));
  const all = {
    'packages/cli/src/lint-rules/rules.ts':
      "export const LINT_RULES = {\n  'prefer-jsonb': rule('prefer-jsonb', 'error', 'migration', 'jsonb'),\n};\n",
    'packages/cli/package.json': '{ "name": "@stellaops/cli" }',
    'packages/cli/test/lint.test.ts': "it('finds json columns', () => {});\n",
    'bench/results/fixture.json': '{ "metrics": { "clone_p50_ms": 25.7 } }',
    'docs/RULES.md': 'Documents are jsonb: lint `prefer-jsonb`.\n',
    'docs/VERIFICATION.md': [
      '| `prefer-jsonb` | `packages/cli/test/lint.test.ts` › `finds json columns` |',
      'Run: `pnpm --filter @stellaops/cli test`',
      '',
      '## Benchmarks',
      '',
      '| fixture | `clone_p50_ms` | 25.7 ms | |',
      '',
    ].join('\n'),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('checkDocs', () => {
  it("accepts the repository's documents", () => {
    assert.deepEqual(checkDocs(repo).problems, []);
  });

  it('accepts a consistent small repository', () => {
    assert.deepEqual(checkDocs(fakeRepo()).problems, []);
  });

  it('a renamed test breaks the check, naming file and test', () => {
    const { problems } = checkDocs(fakeRepo({ 'packages/cli/test/lint.test.ts': "it('finds json and jsonb columns', () => {});\n" }));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /lint\.test\.ts has no test named "finds json columns"/);
  });

  it('a missing test file, an undocumented rule and a cited unknown rule are reported', () => {
    const root = fakeRepo({
      'packages/cli/src/lint-rules/rules.ts':
        "  'prefer-jsonb': rule('prefer-jsonb', 'error', 'migration', 'x'),\n  'prefer-text': rule('prefer-text', 'warning', 'migration', 'y'),\n",
      'docs/RULES.md': 'lint `prefer-jsonb`, lint `no-such-rule`\n',
      'docs/VERIFICATION.md': '| `prefer-jsonb` | `packages/cli/test/gone.test.ts` › `x` |\n',
    });
    const text = checkDocs(root).problems.join('\n');
    assert.match(text, /gone\.test\.ts does not exist/);
    assert.match(text, /RULES\.md does not document lint rule prefer-text/);
    assert.match(text, /VERIFICATION\.md has no row for lint rule prefer-text/);
    assert.match(text, /cites lint rule no-such-rule/);
  });

  it('a benchmark metric that is gone, an unknown package and a TODO are reported; a changed figure is a note', () => {
    const root = fakeRepo({
      'bench/results/fixture.json': '{ "metrics": { "clone_p50_ms": 40, "other": 1 } }',
      'docs/RULES.md': 'lint `prefer-jsonb` TODO: more\n',
      'docs/VERIFICATION.md': [
        '| `prefer-jsonb` | `packages/cli/test/lint.test.ts` › `finds json columns` |',
        'Run: `pnpm --filter @stellaops/nope test`',
        '## Benchmarks',
        '| fixture | `clone_p50_ms` | 25.7 ms | |',
        '| fixture | `gone_ms` | 1 ms | |',
      ].join('\n'),
    });
    const { problems, notes } = checkDocs(root);
    const text = problems.join('\n');
    assert.match(text, /has no metric gone_ms/);
    assert.match(text, /@stellaops\/nope, which is no workspace package/);
    assert.match(text, /RULES\.md:1: .*TODO/);
    assert.match(notes.join('\n'), /clone_p50_ms = 25\.7, the latest run has 40/);
  });
});
