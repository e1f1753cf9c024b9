import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EmbeddedServerError,
  firstBlockedFolder,
  formatServerVersion,
  LocalServer,
  locateBinaries,
  serverRunAs,
  serverStateDir,
  type RunAs,
} from '../src/index.js';

const isRoot = process.getuid?.() === 0;
// An OS user other than this one, as the server's would be under root (location logic only: nothing runs as it).
const other: RunAs = { uid: 65534, gid: 65534, name: 'nobody' };
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});
/** A checkout inside a private (0700) folder, like /root/… or mktemp -d. */
function privateCheckout(): string {
  const outer = mkdtempSync(join(tmpdir(), 'stella-private-'));
  cleanup.push(outer);
  expect(statSync(outer).mode & 0o777).toBe(0o700);
  const ws = join(outer, 'checkout');
  mkdirSync(ws);
  return ws;
}
function freshBase(): string {
  const base = join('/dev/shm', `stella-base-${process.pid}-${Math.random().toString(36).slice(2)}`);
  cleanup.push(base);
  return base;
}

describe('serverStateDir', () => {
  it('keeps everything in the checkout when the server runs as this user', () => {
    const ws = privateCheckout();
    const dir = serverStateDir(ws, 'local', { runAs: undefined, base: freshBase() });
    expect(dir).toBe(join(ws, '.stellaops', 'local'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('moves out of a private checkout for another OS user, one folder per checkout, recorded for later calls', () => {
    const base = freshBase();
    const ws = privateCheckout();
    expect(firstBlockedFolder(join(ws, '.stellaops'), other)).toBe(join(ws, '..'));
    const dir = serverStateDir(ws, 'local', { runAs: other, base });
    expect(dir).toMatch(new RegExp(`^${base}/checkout-[0-9a-f]{12}/local$`));
    expect(statSync(base).mode & 0o777).toBe(0o711);
    expect(statSync(join(dir, '..')).mode & 0o777).toBe(0o711);
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    expect(firstBlockedFolder(dir, other)).toBeUndefined();
    const record = join(ws, '.stellaops', 'local.location.json');
    expect(statSync(record).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ dir });
    // the record wins, whatever the base is now
    expect(serverStateDir(ws, 'local', { runAs: other, base: freshBase() })).toBe(dir);
    // another purpose and another checkout get their own
    expect(serverStateDir(ws, 'cluster', { runAs: other, base })).toBe(join(dir, '..', 'cluster'));
    expect(serverStateDir(privateCheckout(), 'local', { runAs: other, base })).not.toBe(dir);
  });

  it('stays in a checkout the other user can reach', () => {
    const ws = mkdtempSync(join('/dev/shm', 'stella-open-ws-'));
    cleanup.push(ws);
    chmodSync(ws, 0o755);
    expect(serverStateDir(ws, 'local', { runAs: other, base: freshBase() })).toBe(join(ws, '.stellaops', 'local'));
  });

  it('says what blocks a base folder the other user cannot reach, and refuses a bad purpose', () => {
    const blocked = mkdtempSync(join(tmpdir(), 'stella-blocked-'));
    cleanup.push(blocked);
    const err = (() => {
      try {
        return serverStateDir(privateCheckout(), 'local', { runAs: other, base: join(blocked, 'servers') });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EmbeddedServerError);
    expect(err).toMatchObject({ code: 'SERVER_DIR_UNREACHABLE' });
    expect((err as Error).message).toContain(`${blocked} is private`);
    expect((err as Error).message).toMatch(/Fix: set STELLAOPS_SERVER_DIR/);
    expect(() => serverStateDir(privateCheckout(), '../x')).toThrow(/purpose "..\/x" must match/);
  });

  it.runIf(isRoot)('refuses a checkout folder under the base that another user created', () => {
    const base = freshBase();
    const ws = privateCheckout();
    const dir = serverStateDir(ws, 'local', { runAs: other, base });
    rmSync(join(ws, '.stellaops', 'local.location.json'));
    chownSync(join(dir, '..'), 65534, 65534);
    expect(() => serverStateDir(ws, 'local', { runAs: other, base })).toThrow(/owned by uid 65534/);
  });
});

describe('LocalServer in a folder its OS user cannot reach', () => {
  it.runIf(isRoot)('says so and names the fix instead of failing on the binaries', async () => {
    const ws = privateCheckout();
    const err = await new LocalServer({ rootDir: join(ws, '.stellaops') }).up().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SERVER_DIR_UNREACHABLE' });
    expect((err as Error).message).toMatch(
      /runs as OS user "postgres" .* cannot reach .*: .* is private\. Nothing was changed\. Fix: pass serverDir: serverStateDir/,
    );
    expect(existsSync(join(ws, '.stellaops', 'pgdata'))).toBe(false);
  });
});

describe('server version', () => {
  it('reads the same whichever way the binaries were found', () => {
    expect(formatServerVersion('16.14.0-beta.17')).toBe('PostgreSQL 16.14');
    expect(formatServerVersion('postgres (PostgreSQL) 16.14')).toBe('PostgreSQL 16.14');
    expect(formatServerVersion('PostgreSQL 16.2')).toBe('PostgreSQL 16.2');
    const cache = mkdtempSync(join('/dev/shm', 'stella-bin-'));
    chmodSync(cache, 0o711); // mkdtemp makes 0700: the server's OS user must pass through to the binary copy
    cleanup.push(cache);
    writeFileSync(join(cache, 'probe'), '');
    const runAs = serverRunAs();
    const binaries = locateBinaries(runAs, join(cache, 'bin-cache'));
    expect(binaries.version).toMatch(/^PostgreSQL 16\.\d+$/);
    const printed = spawnSync(binaries.postgres, ['--version'], {
      encoding: 'utf8',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    }).stdout;
    expect(formatServerVersion(printed)).toBe(binaries.version);
  });
});
