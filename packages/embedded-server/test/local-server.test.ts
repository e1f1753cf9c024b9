import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedServerError, LocalServer } from '../src/index.js';

// The durable local server of `stella-db up`, in a throwaway root folder.
const root = mkdtempSync(join('/dev/shm', 'stella-local-'));
chmodSync(root, 0o755); // the server's OS user must reach it
const server = new LocalServer({ rootDir: root });

afterAll(async () => {
  await server.down();
  rmSync(root, { recursive: true, force: true });
});

async function scalar(url: string, sql: string): Promise<unknown> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const row = (await c.query(sql)).rows[0] as object | undefined;
    return row ? Object.values(row)[0] : undefined;
  } finally {
    await c.end();
  }
}

describe('LocalServer', () => {
  it('initializes a durable PostgreSQL 16 on first up, with a generated password', async () => {
    const s = await server.up();
    expect(s).toMatchObject({ running: true, action: 'initialized' });
    expect(s.superuserUrl).toMatch(/^postgres:\/\/postgres:[^@]{20,}@127\.0\.0\.1:\d+\/postgres$/);
    expect(Number(await scalar(s.superuserUrl!, "select current_setting('server_version_num')"))).toBeGreaterThanOrEqual(160000);
    expect(await scalar(s.superuserUrl!, "select current_setting('fsync')")).toBe('on');
    expect(statSync(join(root, 'server.json')).mode & 0o077).toBe(0);
    await expect(scalar(s.superuserUrl!.replace(/:[^:@]+@/, ':wrong@'), 'select 1')).rejects.toThrow(/password authentication failed/);
  });

  it('a second up finds it running; after down, up restarts it on the same data and port', async () => {
    const first = server.status();
    const again = await server.up();
    expect(again).toMatchObject({ running: true, action: 'already-running', port: first.port, pid: first.pid });
    await scalar(again.superuserUrl!, 'create table kept as select 42 as x');
    expect(await server.down()).toBe(true);
    expect(server.status().running).toBe(false);
    expect(await server.down()).toBe(false);
    const restarted = await server.up();
    expect(restarted).toMatchObject({ running: true, action: 'restarted', port: first.port });
    expect(await scalar(restarted.superuserUrl!, 'select x from kept')).toBe(42);
  });

  it('restarts on a free port when another process took its saved one', async () => {
    await server.down();
    const saved = (JSON.parse(readFileSync(join(root, 'server.json'), 'utf8')) as { port: number }).port;
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen({ port: saved, host: '127.0.0.1', exclusive: true }, done));
    try {
      const moved = await server.up();
      expect(moved).toMatchObject({ running: true, action: 'restarted' });
      expect(moved.port).not.toBe(saved);
      expect(await scalar(moved.superuserUrl!, 'select x from kept')).toBe(42);
      expect((JSON.parse(readFileSync(join(root, 'server.json'), 'utf8')) as { port: number }).port).toBe(moved.port);
    } finally {
      await new Promise((done) => blocker.close(done));
    }
  });

  it('never re-initializes (deleting data) when the state file is missing or corrupt', async () => {
    await server.down();
    const state = join(root, 'server.json');
    renameSync(state, `${state}.bak`);
    const missing = await server.up().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(EmbeddedServerError);
    expect((missing as EmbeddedServerError).code).toBe('LOCAL_STATE_MISSING');
    expect((missing as Error).message).toMatch(/Nothing was changed/);
    writeFileSync(state, '{ not json');
    const corrupt = await new LocalServer({ rootDir: root }).up().catch((e: unknown) => e);
    expect((corrupt as EmbeddedServerError).code).toBe('LOCAL_STATE_UNREADABLE');
    expect(existsSync(join(root, 'pgdata', 'PG_VERSION'))).toBe(true);
    renameSync(`${state}.bak`, state);
    const back = await new LocalServer({ rootDir: root }).up();
    expect(back.action).toBe('restarted');
    expect(await scalar(back.superuserUrl!, 'select x from kept')).toBe(42);
  });

  it('makes its own group-writable root private, and refuses one owned by another user', async () => {
    const open = mkdtempSync(join('/dev/shm', 'stella-open-'));
    chmodSync(open, 0o777); // e.g. created under umask 002
    const foreign = mkdtempSync(join('/dev/shm', 'stella-foreign-'));
    try {
      const fixed = new LocalServer({ rootDir: open });
      fixed.status();
      expect(statSync(open).mode & 0o077).toBe(process.getuid?.() === 0 ? 0o011 : 0);
      if (process.getuid?.() === 0) {
        chownSync(foreign, 65534, 65534); // nobody
        const err = await new LocalServer({ rootDir: foreign }).up().catch((e: unknown) => e);
        expect((err as EmbeddedServerError).code).toBe('UNSAFE_DIRECTORY');
        expect((err as Error).message).toMatch(/owned by uid 65534/);
      }
    } finally {
      rmSync(open, { recursive: true, force: true });
      rmSync(foreign, { recursive: true, force: true });
    }
  });
});
