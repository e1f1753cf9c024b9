#!/usr/bin/env node
// Typechecks the ```ts code samples of docs/*.md, the root README and every
// package README against the real packages, so a broken example fails CI.
// Each sample becomes one module in a temporary folder inside the package it
// documents (docs/ and the root README: inside packages/cli, which depends on
// the core packages), so imports resolve exactly as that package's own code
// does (workspace sources through the @stellaops/source condition); then tsc
// (strict, the package's tsconfig) checks the folder. The folders are removed
// afterwards.
//
// Two annotations (documented in docs/VERIFICATION.md):
//  - ```ts partial — a deliberate fragment that uses names defined elsewhere
//    (a `tenantId`, a `row`, a `DB` type): it is still typechecked, but
//    "cannot find name" errors are tolerated; a wrong import, a missing export
//    or a wrong call still fails. Unmarked samples must compile on their own.
//  - <!-- doc-samples-package: packages/modules/notify --> anywhere in a
//    markdown file: compile its samples inside that package instead (e.g. a
//    README whose samples are a module's test files).
// Usage: node scripts/check-doc-samples.mjs   (exit 1 naming each broken sample)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const tsc = join(root, 'node_modules/.bin/tsc');

/** Markdown files with samples, each with the package folder its samples compile in. */
function sources() {
  const out = [];
  const add = (file, pkgDir) => existsSync(file) && out.push({ file, pkgDir });
  for (const f of readdirSync(join(root, 'docs'))) if (f.endsWith('.md')) add(join(root, 'docs', f), join(root, 'packages/cli'));
  add(join(root, 'README.md'), join(root, 'packages/cli'));
  const pkgDirs = [];
  for (const base of ['packages', 'packages/modules', 'apps']) {
    const dir = join(root, base);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && existsSync(join(dir, e.name, 'package.json')) && existsSync(join(dir, e.name, 'tsconfig.json')))
        pkgDirs.push(join(dir, e.name));
    }
  }
  for (const d of pkgDirs) add(join(d, 'README.md'), d);
  // READMEs whose samples are a module package's own test files.
  const moduleSamples = {
    'packages/test-fixture/README.md': 'packages/modules/authority',
    'packages/module-testkit/README.md': 'packages/modules/notify',
  };
  for (const o of out) {
    const target = moduleSamples[relative(root, o.file)];
    if (target && existsSync(join(root, target))) o.pkgDir = join(root, target);
  }
  return out.map(({ file, pkgDir }) => {
    const m = /<!--\s*doc-samples-package:\s*(\S+)\s*-->/.exec(readFileSync(file, 'utf8'));
    return { file, pkgDir: m ? join(root, m[1]) : pkgDir };
  });
}

/** ```ts blocks of a markdown file: { line, code, partial }. */
function samples(text) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)(\s+.*)?$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    out.push({ line: start, code: lines.slice(start, j).join('\n'), partial: /\bpartial\b/.test(open[2] ?? '') });
    i = j;
  }
  return out;
}

/** Errors a `partial` sample may have: names it uses but does not declare. */
const UNDECLARED = /^error TS(2304|2552|18004|2582|2593|2591):/;

const byPackage = new Map();
let partials = 0;
for (const { file, pkgDir } of sources()) {
  for (const s of samples(readFileSync(file, 'utf8'))) {
    if (s.partial) partials++;
    if (!byPackage.has(pkgDir)) byPackage.set(pkgDir, []);
    byPackage.get(pkgDir).push({ file: relative(root, file), ...s });
  }
}

let failed = 0;
let checked = 0;
for (const [pkgDir, list] of byPackage) {
  const dir = join(pkgDir, `.doc-samples-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const names = new Map();
    list.forEach((s, i) => {
      const name = `sample${i}.ts`;
      names.set(name, s);
      writeFileSync(join(dir, name), `${s.code}\nexport {};\n`);
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify(
        {
          extends: '../tsconfig.json',
          include: ['*.ts'],
          compilerOptions: { noEmit: true, declaration: false, declarationMap: false, sourceMap: false, noUnusedLocals: false },
        },
        null,
        2,
      ),
    );
    const r = spawnSync(tsc, ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: pkgDir, encoding: 'utf8' });
    checked += list.length;
    if (r.status !== 0) {
      const output = `${r.stdout}${r.stderr}`;
      let errors = 0;
      for (const line of output.split('\n').filter(Boolean)) {
        const m = /^(?:.*[\\/])?(sample\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
        if (m && names.has(m[1])) {
          const s = names.get(m[1]);
          if (s.partial && UNDECLARED.test(m[4])) continue;
          console.error(`check-doc-samples: ${s.file}:${s.line + Number(m[2])}: ${m[4]}`);
          errors++;
        } else if (/^\s/.test(line) || /error TS/.test(line)) {
          console.error(`check-doc-samples: ${relative(root, pkgDir)}: ${line}`);
          if (/error TS/.test(line)) errors++;
        }
      }
      if (errors > 0 || (r.status !== 0 && !/error TS/.test(output))) failed++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (failed > 0) {
  console.error('check-doc-samples: fix the sample, or mark a deliberate fragment ```ts partial');
  process.exit(1);
}
console.log(`check-doc-samples: ${checked} samples typechecked (${partials} marked partial): ok`);
