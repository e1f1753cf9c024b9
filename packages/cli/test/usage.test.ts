import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('stella-db usage and help', () => {
  it('migrate --help documents commands, connection, exit codes', async () => {
    const r = await runCli(['migrate', '--help']);
    expect(r.code).toBe(0);
    for (const word of [
      'up',
      'down',
      'status',
      'plan',
      'verify',
      'accept',
      'Postgres__ConnectionString',
      'Exit codes:',
      '3  pending or drift',
      'PgBouncer',
      'stella:no-transaction',
    ]) {
      expect(r.stdout).toContain(word);
    }
  });

  it.each(['up', 'down', 'status', 'plan', 'verify', 'accept'])('migrate %s --help lists the shared options', async (cmd) => {
    const r = await runCli(['migrate', cmd, '--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--url', '--config', '--module', '--dir', '--schema', '--json', '--lock-wait', '--lock-timeout'])
      expect(r.stdout).toContain(opt);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['migrate'])).code).toBe(2);
    expect((await runCli(['migrate', 'up', '--bogus'])).code).toBe(2);
    expect((await runCli(['nope'])).code).toBe(2);
    const noUrl = await runCli(['migrate', 'up', '--dir', '.', '--schema', 's', '--json']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.json).toMatchObject({ ok: false, command: 'up', exitCode: 2, error: { code: 'USAGE' } });
    expect(String((noUrl.json.error as { message: string }).message)).toContain('Postgres__ConnectionString');
    expect((await runCli(['migrate', 'up', '--url', 'postgres://x@127.0.0.1/db', '--dir', '.'])).code).toBe(2);
    expect((await runCli(['migrate', 'up', '--url', 'postgres://x@127.0.0.1/db'])).code).toBe(2);
    expect(
      (await runCli(['migrate', 'up', '--url', 'postgres://x@127.0.0.1/db', '--dir', '.', '--schema', 's', '--lock-wait', 'soon'])).code,
    ).toBe(2);
    expect((await runCli(['migrate', 'up', '--url', 'Host', '--dir', '.', '--schema', 's'])).code).toBe(2);
    expect((await runCli(['migrate', 'up', '--url', 'postgres://x@127.0.0.1/db', '--dir', './no-such-folder', '--schema', 's'])).code).toBe(
      2,
    );
  });

  it('the bin script runs (built dist, or source through tsx)', () => {
    const bin = fileURLToPath(new URL('../bin/stella-db.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'migrate', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: stella-db migrate');
  });

  it('a usage error points to the help of the command that was run', async () => {
    const up = await runCli(['up'], { Postgres__ConnectionString: 'Host' });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain('(run "stella-db up --help" for usage)');
    expect(up.stderr).not.toContain('migrate');
    const migrate = await runCli(['migrate', 'up', '--url', 'postgres://x@127.0.0.1/db']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('(run "stella-db migrate up --help" for usage)');
    const plan = await runCli(['migrate', 'plan', '--url', 'postgres://x@127.0.0.1/db', '--dir', '.']);
    expect(plan.stderr).toContain('(run "stella-db migrate plan --help" for usage)');
  });

  it('--help describes what the CLI does today, not what comes later', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/later/i);
    for (const word of ['local server', 'migrations', 'codegen', 'up', 'down', 'status', 'url', 'migrate'])
      expect(r.stdout).toContain(word);
  });
});
