import { chownSync, lstatSync, mkdirSync } from 'node:fs';
import { EmbeddedServerError } from './errors.js';
import type { RunAs } from './os-user.js';

/**
 * Creates `path` (and its parents) as a private folder — mode 0700, owned by
 * the server's OS user when this process is root — or checks that an existing
 * one is safe: a real folder (no symlink), owned by this process's user or the
 * server's, and not writable by group or others. Under world-writable places
 * such as /dev/shm or /var/tmp another local user could otherwise plant files
 * (binaries, symlinks) there first.
 */
export function ensurePrivateDir(path: string, runAs: RunAs | undefined): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(path, runAs.uid, runAs.gid);
    return;
  }
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const owners = [me, runAs?.uid].filter((u) => u !== undefined);
  const problem = !st.isDirectory()
    ? 'is not a folder (or is a symbolic link)'
    : !owners.includes(st.uid)
      ? `is owned by uid ${st.uid}, not by this user${runAs ? ` or ${runAs.name}` : ''}`
      : (st.mode & 0o022) !== 0
        ? 'is writable by other users'
        : undefined;
  if (problem) {
    throw new EmbeddedServerError(
      'UNSAFE_DIRECTORY',
      `${path} ${problem}, so it is not safe to keep a PostgreSQL server's binaries, data or passwords there. ` +
        'Fix: remove it (or choose another folder, e.g. STELLAOPS_TEST_PG_CACHE_DIR for tests).',
    );
  }
}
