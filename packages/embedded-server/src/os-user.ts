import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { EmbeddedServerError } from './errors.js';

/** The OS identity the embedded server runs as, or `undefined` to run as the current user. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

function lookup(name: string): RunAs | undefined {
  try {
    // /etc/passwd first: no process to spawn
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(':');
      if (uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid), name };
    }
  } catch {
    // no /etc/passwd: ask id(1)
  }
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid, name } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root. When this process is root, returns the
 * unprivileged OS user `postgres` (created as a system user when missing);
 * otherwise `undefined`: the server runs as the current user.
 */
export function serverRunAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const existing = lookup('postgres');
  if (existing) return existing;
  let failure: unknown;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  } catch (e) {
    failure = e; // reported below if the user still does not exist
  }
  const created = lookup('postgres');
  if (!created) {
    throw new EmbeddedServerError(
      'NO_SERVER_USER',
      'Running as root, and the OS user "postgres" that the embedded PostgreSQL must run as does not exist and could not be created. ' +
        'Fix: create it (`useradd --system postgres`) or run the tests as a non-root user.',
      { cause: failure },
    );
  }
  return created;
}

function allows(path: string, runAs: RunAs, bit: number): boolean {
  const st = statSync(path);
  if (st.uid === runAs.uid) return (st.mode & (bit << 6)) !== 0;
  if (st.gid === runAs.gid) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

/** True when `runAs` may pass through every folder above `path` (and `path` itself, if it is a folder that exists). */
export function canTraverse(path: string, runAs: RunAs): boolean {
  try {
    let dir = path;
    for (;;) {
      try {
        if (statSync(dir).isDirectory() && !allows(dir, runAs, 1)) return false;
      } catch {
        // not created yet: its parent decides
      }
      const up = dirname(dir);
      if (up === dir) return true;
      dir = up;
    }
  } catch {
    return false;
  }
}

/**
 * The first folder, from `/` down to `path`, that `runAs` may not pass
 * through (e.g. a 0700 home or `mktemp -d` folder), or `undefined` when it can
 * reach `path`. Folders that do not exist yet are skipped.
 *
 * @example
 * firstBlockedFolder('/root/stellaops/.stellaops', { uid: 101, gid: 103, name: 'postgres' }); // '/root'
 */
export function firstBlockedFolder(path: string, runAs: RunAs): string | undefined {
  const chain: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    try {
      if (statSync(dir).isDirectory() && !allows(dir, runAs, 1)) return dir;
    } catch {
      // not created yet: nothing below it exists either
      return undefined;
    }
  }
  return undefined;
}

/** True when `runAs` can reach and execute `file`. */
export function canRun(file: string, runAs: RunAs): boolean {
  try {
    return canTraverse(dirname(file), runAs) && allows(file, runAs, 1) && allows(file, runAs, 4);
  } catch {
    return false;
  }
}
