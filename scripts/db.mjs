#!/usr/bin/env node
// `pnpm db:up | db:down | db:status`: the developer's local PostgreSQL 16
// (embedded, durable, data kept in .stellaops/ which git ignores).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--conditions=@stellaops/source', join(root, 'scripts', 'local-db.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root },
);
process.exit(r.status ?? 1);
