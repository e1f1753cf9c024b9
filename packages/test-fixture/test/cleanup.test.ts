import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, FixturePortInUseError, startTestServer, defaultCacheDir } from '../src/index.js';
import { eventually, firstJsonLine, spawnHelper } from './helpers/spawn-tsx.js';

// A server of its own (own cache folder), so that killing its users does not
// disturb the run's shared server.
const cacheDir = `${defaultCacheDir()}-selftest-${process.pid}`;
const pidFile = join(cacheDir, 'data', 'postmaster.pid');
const env = { ...process.env, STELLAOPS_TEST_PG_CACHE_DIR: cacheDir, STELLAOPS_TEST_PG_PROVIDER: 'embedded' };

describe('embedded server hygiene', () => {
  let blocker: Server | undefined;
  afterAll(() => {
    blocker?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('a port in use is a clear error naming the port and the fix', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(port, '127.0.0.1', r));
    const err = await startTestServer({ provider: 'embedded', cacheDir, port, log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixturePortInUseError);
    expect((err as Error).message).toContain(`Port ${port} is already in use`);
    expect((err as Error).message).toContain('STELLAOPS_TEST_PG_PORT');
    expect(existsSync(pidFile)).toBe(false);
  });

  it("after its user is SIGKILLed the server stops and the next run sweeps the dead run's clones", async () => {
    const child = spawnHelper('hold-server.ts', [], env);
    const held = await firstJsonLine<{ pid: number; port: number; clones: string[]; runTag: string }>(child);
    expect(existsSync(pidFile)).toBe(true);
    // SIGKILL the process that holds the lease (tsx runs the script in a child of its own)
    process.kill(held.pid, 'SIGKILL');
    child.kill('SIGKILL');
    // the watchdog notices that no lease holder is alive and stops the server
    await eventually(() => !existsSync(pidFile), 30_000, 'the watchdog to stop the orphaned server');
    expect(readdirSync(cacheDir).filter((n) => n.includes('.init-') || n.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'leases'))).toEqual([]);

    const lines: string[] = [];
    const next = await startTestServer({ provider: 'embedded', cacheDir, log: (l) => lines.push(l) });
    try {
      expect(lines.join('\n')).toMatch(/warm start.*swept 2 database/s);
      const c = new pg.Client({ connectionString: next.adminConnectionString });
      await c.connect();
      const r = await c.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [held.clones]);
      await c.end();
      expect(r.rows).toEqual([]);
    } finally {
      await next.stop();
    }
    expect(existsSync(pidFile)).toBe(false);
  });

  it('two users share one server; it stops only when the last releases', async () => {
    const a = await startTestServer({ provider: 'embedded', cacheDir, log: () => undefined });
    const child = spawnHelper('hold-server.ts', [], env);
    const held = await firstJsonLine<{ pid: number; port: number }>(child);
    expect(held.port).toBe(a.info.port);
    await a.stop();
    expect(existsSync(pidFile)).toBe(true); // the child still holds a lease
    process.kill(held.pid, 'SIGTERM');
    await eventually(() => !existsSync(pidFile), 30_000, 'the server to stop after the last user left');
  });
});
