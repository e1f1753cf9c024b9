import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { EmbeddedServerError } from './errors.js';
import type { RunAs } from './os-user.js';

/**
 * Creates `path` (and its parents) as a private folder of this process's
 * user, or checks an existing one: it must be a real folder (no symlink)
 * owned by this user; write access for group or others is removed. The mode
 * is 0700, or 0711 when the server runs as another OS user (`runAs`): that
 * user may pass through to its data folder but not list or write here. Files
 * in it stay owned by this user, so nobody else can plant a symlink that this
 * process (root, say) would then write through.
 */
export function ensurePrivateDir(path: string, runAs: RunAs | undefined): void {
  const mode = runAs ? 0o711 : 0o700;
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(path, { recursive: true, mode });
    chmodSync(path, mode); // mkdir's mode is masked by the umask
    return;
  }
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (!st.isDirectory() || (me !== undefined && st.uid !== me)) {
    throw new EmbeddedServerError(
      'UNSAFE_DIRECTORY',
      `${path} ${st.isDirectory() ? `is owned by uid ${st.uid}, not by this user (uid ${me})` : 'is not a folder (or is a symbolic link)'}, ` +
        "so it is not safe to keep a PostgreSQL server's binaries, data or passwords there. " +
        'Fix: find out who created it; for tests choose another folder with STELLAOPS_TEST_PG_CACHE_DIR.',
    );
  }
  if ((st.mode & 0o077) !== (mode & 0o077)) chmodSync(path, mode);
}
