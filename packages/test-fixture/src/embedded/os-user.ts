import { execFileSync } from 'node:child_process';

/** The OS identity the embedded server runs as, or `undefined` to run as the current user. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

function lookup(name: string): RunAs | undefined {
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
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  } catch {
    // fall through to the lookup, which reports the failure
  }
  const created = lookup('postgres');
  if (!created) {
    throw new Error(
      'Running as root, and the OS user "postgres" that the embedded PostgreSQL must run as does not exist and could not be created. ' +
        'Fix: create it (`useradd --system postgres`) or run the tests as a non-root user.',
    );
  }
  return created;
}
