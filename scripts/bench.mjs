#!/usr/bin/env node
// `pnpm bench <scenario>`: runs one benchmark scenario in the package that owns it.
import { spawnSync } from 'node:child_process';

const scenarios = {
  fixture: '@stellaops/test-fixture',
  tenant: '@stellaops/postgres-core',
  migrator: '@stellaops/migrator',
  cluster: '@stellaops/cluster',
  backup: '@stellaops/backup',
};
const scenario = process.argv[2];
if (!scenario || !(scenario in scenarios)) {
  console.error(`usage: pnpm bench <scenario>\n  scenarios: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const r = spawnSync('pnpm', ['--filter', scenarios[scenario], 'run', 'bench', ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
