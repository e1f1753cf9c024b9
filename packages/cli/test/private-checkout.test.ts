import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// README's command one from a checkout inside a private (0700) folder, like `mktemp -d` or /root. As root the
// server runs as OS user postgres, which cannot enter that folder: its files must go elsewhere.
const isRoot = process.getuid?.() === 0;
const outer = mkdtempSync(join(tmpdir(), 'stella-private-'));
const ws = join(outer, 'p');
mkdirSync(ws);
writeFileSync(join(ws, 'pnpm-workspace.yaml'), 'packages:\n  - packages/modules/*\n');
const base = join('/dev/shm', `stella-servers-${process.pid}`); // STELLAOPS_SERVER_DIR (default /var/lib/stellaops)
const env = { STELLAOPS_SERVER_DIR: base };

afterAll(async () => {
  await runCli(['down'], env, ws);
  rmSync(outer, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
});

describe(`stella-db up/down in a checkout inside a 0700 folder (as ${isRoot ? 'root' : 'a normal user'})`, () => {
  it('starts, serves, reports and stops the local server without changing the folder permissions', async () => {
    expect(statSync(outer).mode & 0o777).toBe(0o700);
    const up = await runCli(['up', '--all'], env, ws);
    expect(up.code, up.stderr).toBe(0);
    const dataDir = /data (\S+)\)/.exec(up.stdout)?.[1];
    expect(up.stdout).toMatch(/local PostgreSQL \(PostgreSQL 16\.\d+, initialized, port \d+, data /);
    const record = JSON.parse(readFileSync(join(ws, '.stellaops', 'local.location.json'), 'utf8')) as { dir: string };
    expect(dataDir).toBe(join(record.dir, 'pgdata'));
    if (isRoot) {
      expect(record.dir).toMatch(new RegExp(`^${base}/p-[0-9a-f]{12}/local$`));
      expect(statSync(dataDir!).uid).not.toBe(0); // the server's OS user owns its data
      expect(statSync(dataDir!).mode & 0o777).toBe(0o700);
      expect(statSync(record.dir).mode & 0o777).toBe(0o711);
    } else {
      expect(record.dir).toBe(join(ws, '.stellaops', 'local'));
    }
    expect(statSync(outer).mode & 0o777).toBe(0o700); // untouched

    const status = await runCli(['status'], env, ws);
    expect(status.stdout).toContain(`local PostgreSQL running: PostgreSQL 16.`);
    expect(status.stdout).toContain(`data ${dataDir}`);
    const url = (await runCli(['url', '--role', 'app'], env, ws)).stdout.trim();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query<{ u: string }>('select current_user as u')).rows[0]?.u).toBe('stellaops_app');
    } finally {
      await c.end();
    }
    const again = await runCli(['up', '--all'], env, ws);
    expect(again.stdout).toMatch(/already-running/);

    // down finds the same server through the record, even without the environment variable
    const down = await runCli(['down'], {}, ws);
    expect(down.stdout).toBe('local PostgreSQL stopped\n');
    expect((await runCli(['status'], {}, ws)).stdout).toMatch(/not running/);
    expect(existsSync(join(dataDir!, 'PG_VERSION'))).toBe(true); // data kept
  });
});
