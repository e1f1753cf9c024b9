#!/usr/bin/env node
// stella-db: runs the built CLI (dist/main.js); inside the workspace without a
// build, or with STELLA_DB_FROM_SOURCE=1 (module packages' codegen scripts, so
// that a module's own migrations are read from source), runs the TypeScript
// source through tsx with workspace packages resolved from source
// (@stellaops/source condition).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
if (process.env.STELLA_DB_FROM_SOURCE !== '1' && existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  let tsx;
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    console.error('stella-db: dist/ is missing and tsx is not installed; run "pnpm build" first');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, ['--conditions=@stellaops/source', '--import', tsx, src, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exitCode = r.status ?? 1;
}
