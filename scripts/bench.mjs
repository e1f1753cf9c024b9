#!/usr/bin/env node
// `pnpm bench <scenario>`: runs one benchmark scenario in the package that owns it.
import { spawnSync } from 'node:child_process';

// scenario → [package, its script]
const scenarios = {
  fixture: ['@stellaops/test-fixture', 'bench'],
  tenant: ['@stellaops/postgres-core', 'bench'],
  policy: ['@stellaops/postgres-core', 'bench:policy'],
  migrator: ['@stellaops/migrator', 'bench'],
  cluster: ['@stellaops/cluster', 'bench'],
  backup: ['@stellaops/backup', 'bench'],
};
const scenario = process.argv[2];
if (!scenario || !(scenario in scenarios)) {
  console.error(`usage: pnpm bench <scenario>\n  scenarios: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const [pkg, script] = scenarios[scenario];
const r = spawnSync('pnpm', ['--filter', pkg, 'run', script, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
