#!/usr/bin/env node
// Checks the CI workflow files (.gitea/workflows/*.yml): each must be valid
// against the GitHub Actions workflow schema (pinned: @action-validator/core
// 0.6.0 embeds SchemaStore's github-workflow.json), and pass the rules this
// repository's Gitea runner needs that no schema knows:
// - every `${{ … }}` is closed and starts from a context the runner has;
// - actions/upload-artifact and download-artifact stay on v3: v4 takes Gitea
//   for GitHub Enterprise Server and refuses to run (go-gitea/gitea#31256).
// Exit 1 with one line per problem; run from the repository root.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateWorkflow } from '@action-validator/core';

/** Contexts (and functions) an expression may start with, per the GitHub Actions docs plus Gitea's `gitea`. */
const CONTEXTS = new Set([
  'github',
  'gitea',
  'env',
  'vars',
  'job',
  'jobs',
  'steps',
  'runner',
  'secrets',
  'strategy',
  'matrix',
  'needs',
  'inputs',
  'true',
  'false',
  'null',
  'contains',
  'startsWith',
  'endsWith',
  'format',
  'join',
  'toJSON',
  'fromJSON',
  'hashFiles',
  'success',
  'always',
  'cancelled',
  'failure',
]);

/** Flattens action-validator's nested `oneOf` states into `path: detail` lines. */
function schemaErrors(errors) {
  const out = [];
  for (const e of errors) {
    if (e.states?.length) {
      // a oneOf failed: report the branch with the fewest complaints, the one the author most likely meant
      const best = [...e.states].sort((a, b) => a.errors.length - b.errors.length)[0];
      out.push(...schemaErrors(best.errors));
    } else {
      const where = e.path ?? (e.location ? `line ${e.location.line}` : '');
      out.push(`${where}: ${e.detail ?? e.title}`);
    }
  }
  return [...new Set(out)];
}

/** Problems in `${{ … }}` expressions: unclosed ones and unknown contexts. */
function expressionErrors(text) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    let at = line.indexOf('${{');
    while (at !== -1) {
      const end = line.indexOf('}}', at);
      const next = line.indexOf('${{', at + 3);
      if (end === -1 || (next !== -1 && next < end)) {
        out.push(`line ${i + 1}: "\${{" without a closing "}}"`);
        break;
      }
      const body = line.slice(at + 3, end).replace(/'[^']*'/g, "''");
      for (const m of body.matchAll(/(?<![\w.\-'])([A-Za-z_][\w-]*)/g)) {
        if (!CONTEXTS.has(m[1])) out.push(`line ${i + 1}: unknown context or function "${m[1]}" in \${{${line.slice(at + 3, end)}}}`);
      }
      at = line.indexOf('${{', end);
    }
  });
  return out;
}

/** `uses:` of artifact actions other than v3 (v4 refuses to run on Gitea). */
function artifactErrors(text) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    const m = /uses:\s*["']?actions\/(upload|download)-artifact@([^\s"'#]+)/.exec(line);
    if (m && !/^v3(\.|$)/.test(m[2])) {
      out.push(`line ${i + 1}: actions/${m[1]}-artifact@${m[2]} does not run on Gitea (it takes Gitea for GHES); use @v3`);
    }
  });
  return out;
}

/**
 * Every problem found in one workflow file's text, as `where: what` lines (empty when valid).
 * @param {string} text the YAML of a workflow
 * @returns {string[]}
 */
export function checkWorkflow(text) {
  const state = validateWorkflow(text);
  return [...schemaErrors(state.errors), ...expressionErrors(text), ...artifactErrors(text)];
}

function main() {
  const dir = process.argv[2] ?? '.gitea/workflows';
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  if (files.length === 0) {
    console.error(`check-workflows: no workflow files in ${dir}`);
    process.exit(1);
  }
  let bad = 0;
  for (const f of files) {
    const problems = checkWorkflow(readFileSync(join(dir, f), 'utf8'));
    for (const p of problems) console.log(`${join(dir, f)} ${p}`);
    if (problems.length) bad++;
    else console.log(`${join(dir, f)}: valid`);
  }
  process.exit(bad > 0 ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
