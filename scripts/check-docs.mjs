#!/usr/bin/env node
// Cross-checks docs/*.md against the code, so that renaming a test or a lint
// rule breaks the build instead of silently staling the documents:
//  - every test reference `path/to/x.test.ts` › `test name` names a file that
//    exists and contains that test name verbatim;
//  - every stella-db lint rule id (packages/cli/src/lint-rules/rules.ts) is
//    documented in docs/RULES.md and has a row in docs/VERIFICATION.md, and
//    every `lint <id>` the documents cite exists;
//  - every benchmark figure row `| <scenario> | <metric> | <value> |` in
//    docs/VERIFICATION.md names a metric of bench/results/<scenario>.json
//    (a value that differs from the latest run is reported, not fatal);
//  - `pnpm --filter <name>` commands name workspace packages;
//  - the documents hold no TODO / TBD / FIXME and no open question marker.
// Usage: node scripts/check-docs.mjs   (exit 1 with one line per problem)
// Tests: scripts/check-docs.test.mjs (node --test, run by .ci/run).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Checks the documents of the repository at `root`.
 * @returns {{ problems: string[], notes: string[], summary: string }}
 */
export function checkDocs(root) {
  const docsDir = join(root, 'docs');
  const problems = [];
  const notes = [];

  const docs = readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => ({ name: `docs/${f}`, text: readFileSync(join(docsDir, f), 'utf8') }));

  // 1. test references
  let references = 0;
  const fileCache = new Map();
  for (const doc of docs) {
    for (const m of doc.text.matchAll(/`([\w@./-]+\.test\.ts)` › `([^`]+)`/g)) {
      references++;
      const [, file, name] = m;
      const path = join(root, file);
      if (!existsSync(path)) {
        problems.push(`${doc.name}: test file ${file} does not exist (referenced with "${name}")`);
        continue;
      }
      if (!fileCache.has(path)) fileCache.set(path, readFileSync(path, 'utf8'));
      if (!fileCache.get(path).includes(name))
        problems.push(`${doc.name}: ${file} has no test named "${name}" (renamed? update the document)`);
    }
  }

  // 2. lint rule ids
  const rulesSource = readFileSync(join(root, 'packages/cli/src/lint-rules/rules.ts'), 'utf8');
  const ruleIds = [...rulesSource.matchAll(/^\s+'?([a-z-]+)'?:\s*rule\(\s*'([a-z-]+)'/gm)].map((m) => m[2]);
  if (ruleIds.length === 0)
    problems.push('packages/cli/src/lint-rules/rules.ts: no rule found (did its format change? update scripts/check-docs.mjs)');
  const rulesDoc = docs.find((d) => d.name === 'docs/RULES.md');
  const verificationDoc = docs.find((d) => d.name === 'docs/VERIFICATION.md');
  for (const id of ruleIds) {
    if (!rulesDoc?.text.includes(`\`${id}\``)) problems.push(`docs/RULES.md does not document lint rule ${id}`);
    if (!verificationDoc?.text.includes(`\`${id}\``)) problems.push(`docs/VERIFICATION.md has no row for lint rule ${id}`);
  }
  for (const doc of docs) {
    for (const m of doc.text.matchAll(/lint `([a-z-]+)`/g)) {
      if (!ruleIds.includes(m[1])) problems.push(`${doc.name}: cites lint rule ${m[1]}, which stella-db lint does not have`);
    }
  }

  // 3. benchmark figures
  if (verificationDoc) {
    const section = verificationDoc.text.split(/^## /m).find((s) => s.startsWith('Benchmarks')) ?? '';
    for (const m of section.matchAll(/^\| `?([a-z0-9_-]+)`? \| `([a-z0-9_]+)` \| ([^|]+) \|/gm)) {
      const [, scenario, metric, written] = m;
      const file = join(root, 'bench/results', `${scenario}.json`);
      if (!existsSync(file)) {
        problems.push(`docs/VERIFICATION.md: bench/results/${scenario}.json does not exist (benchmark ${scenario})`);
        continue;
      }
      const value = JSON.parse(readFileSync(file, 'utf8')).metrics?.[metric];
      if (typeof value !== 'number') {
        problems.push(`docs/VERIFICATION.md: bench/results/${scenario}.json has no metric ${metric}`);
        continue;
      }
      const shown = Number(written.trim().split(/\s/)[0]);
      if (Number.isFinite(shown) && Math.abs(shown - value) > Math.max(0.05 * Math.abs(value), 0.01)) {
        notes.push(
          `note: docs/VERIFICATION.md shows ${scenario}.${metric} = ${shown}, the latest run has ${value} (update the table after a bench run)`,
        );
      }
    }
  }

  // 4. package names in commands (`pnpm --filter @stellaops/x …`)
  const packageNames = new Set();
  for (const base of ['packages', 'packages/modules', 'apps']) {
    const dir = join(root, base);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const pkg = join(dir, e.name, 'package.json');
      if (e.isDirectory() && existsSync(pkg)) packageNames.add(JSON.parse(readFileSync(pkg, 'utf8')).name);
    }
  }
  for (const doc of docs) {
    for (const m of doc.text.matchAll(/--filter (@stellaops\/[a-z0-9-]+)/g)) {
      if (!m[1].endsWith('-') && !packageNames.has(m[1]))
        problems.push(`${doc.name}: command filters on ${m[1]}, which is no workspace package`);
    }
  }

  // 5. no TODOs or open questions
  for (const doc of docs) {
    doc.text.split('\n').forEach((line, i) => {
      if (/\b(TODO|TBD|FIXME|XXX)\b|open question/i.test(line))
        problems.push(`${doc.name}:${i + 1}: "${line.trim().slice(0, 60)}" (the documents hold no TODOs or open questions)`);
    });
  }

  return { problems, notes, summary: `${docs.length} documents, ${references} test references, ${ruleIds.length} lint rules` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { problems, notes, summary } = checkDocs(resolve(fileURLToPath(new URL('..', import.meta.url))));
  for (const n of notes) console.log(n);
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-docs: ${p}`);
    console.error(`check-docs: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check-docs: ${summary}: ok`);
}
