// Implementation of scripts/db.mjs (run through tsx from the workspace sources).
import { join } from 'node:path';
import { LocalServer } from '@stellaops/embedded-server';

const root = join(import.meta.dirname, '..');
const server = new LocalServer({ rootDir: join(root, '.stellaops') });
const redact = (url: string): string => url.replace(/:[^:@/]+@/, ':***@');

const cmd = process.argv[2] ?? 'status';
if (cmd === 'up') {
  const s = await server.up();
  const how = { initialized: 'initialized and started', restarted: 'started on its existing data', 'already-running': 'already running' }[s.action ?? 'already-running'];
  console.log(`Local ${s.version} ${how} (pid ${s.pid}, port ${s.port}).`);
  console.log(`  connection string: ${redact(s.superuserUrl ?? '')}`);
  console.log('  full URL (with password, for your shell only): pnpm --silent db:url');
  console.log(`  data: ${s.dataDir}   log: ${s.logFile}`);
  console.log('  stop it with: pnpm db:down');
} else if (cmd === 'down') {
  console.log((await server.down()) ? 'Local PostgreSQL stopped.' : 'Local PostgreSQL was not running.');
} else if (cmd === 'status') {
  const s = server.status();
  console.log(s.running ? `running: pid ${s.pid}, port ${s.port}, ${redact(s.superuserUrl ?? '')}` : `not running (data: ${s.dataDir})`);
} else if (cmd === 'url') {
  const s = server.status();
  if (!s.superuserUrl) {
    console.error('Local PostgreSQL is not running: start it with pnpm db:up');
    process.exit(1);
  }
  console.log(s.superuserUrl);
} else {
  console.error(`unknown command "${cmd}": use up, down, status or url`);
  process.exit(2);
}
