import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, chmodSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { EmbeddedServerError } from './errors.js';
import { canTraverse, firstBlockedFolder, serverRunAs, type RunAs } from './os-user.js';
import { ensurePrivateDir } from './private-dir.js';

/** Where a server's files go when the checkout is out of the server user's reach (overridden by `STELLAOPS_SERVER_DIR`). */
export const DEFAULT_SERVER_BASE = '/var/lib/stellaops';

/** Options of {@link serverStateDir}. */
export interface ServerStateDirOptions {
  /** The server's OS user; default {@link serverRunAs} (`postgres` when root, else none). */
  runAs?: RunAs | undefined;
  /** The checkout's private state folder, where the location is recorded; default `<workspaceRoot>/.stellaops`. */
  stateDir?: string;
  /** Base folder used when the checkout is unreachable; default `STELLAOPS_SERVER_DIR`, else `/var/lib/stellaops`. */
  base?: string | undefined;
}

interface LocationRecord {
  dir: string;
  workspace: string;
}

const PURPOSE = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The folder for what a server's OS user must reach — binary copy, data
 * folder, log — for one purpose (`local` for `stella-db up`, e.g. `cluster`)
 * of one checkout. Created when missing, private (0700; 0711 when the server
 * runs as another OS user, who may pass through but not list), owner checked.
 *
 * - The server runs as this user (not root), or its OS user can reach the
 *   checkout: `<workspaceRoot>/.stellaops/<purpose>`, everything stays in the
 *   checkout.
 * - Root with a checkout in a private folder (`/root/…`, a `mktemp -d`
 *   folder): `<base>/<checkout-name>-<hash of its real path>/<purpose>` with
 *   base `/var/lib/stellaops` (or `STELLAOPS_SERVER_DIR`), so a second checkout
 *   gets its own. No permission of the user's folders is changed.
 *
 * The choice is recorded in `<stateDir>/<purpose>.location.json` and reused,
 * so `down`, `status` and `url` find the same folder whatever changed since.
 * A record written for another checkout (a copied `.stellaops`) is ignored.
 *
 * @example
 * const dir = serverStateDir('/root/stellaops', 'local'); // as root: '/var/lib/stellaops/stellaops-1a2b3c4d5e6f/local'
 * new LocalServer({ rootDir: '/root/stellaops/.stellaops', serverDir: dir });
 */
export function serverStateDir(workspaceRoot: string, purpose: string, options: ServerStateDirOptions = {}): string {
  if (!PURPOSE.test(purpose))
    throw new EmbeddedServerError('INVALID_PURPOSE', `serverStateDir: purpose ${JSON.stringify(purpose)} must match ${PURPOSE}`);
  const runAs = 'runAs' in options ? options.runAs : serverRunAs();
  const workspace = realpathSync(resolve(workspaceRoot));
  const stateDir = resolve(options.stateDir ?? join(workspace, '.stellaops'));
  ensurePrivateDir(stateDir, runAs);
  const recordFile = join(stateDir, `${purpose}.location.json`);
  const recorded = readRecord(recordFile);
  if (recorded && recorded.workspace === workspace) {
    ensureServerDir(recorded.dir, runAs);
    return recorded.dir;
  }
  let dir = join(stateDir, purpose);
  if (runAs && !canTraverse(stateDir, runAs)) {
    const base = resolve(options.base ?? process.env.STELLAOPS_SERVER_DIR ?? DEFAULT_SERVER_BASE);
    ensureBase(base, runAs);
    const name =
      basename(workspace)
        .replace(/[^A-Za-z0-9._-]/g, '_')
        .slice(0, 40) || 'root';
    const id = `${name}-${createHash('sha256').update(workspace).digest('hex').slice(0, 12)}`;
    ensurePrivateDir(join(base, id), runAs);
    dir = join(base, id, purpose);
  }
  ensureServerDir(dir, runAs);
  const tmp = `${recordFile}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ dir, workspace } satisfies LocationRecord, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, recordFile);
  return dir;
}

function readRecord(file: string): LocationRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // nothing recorded yet
  }
  try {
    const r = JSON.parse(text) as Partial<LocationRecord>;
    if (typeof r.dir === 'string' && typeof r.workspace === 'string') return { dir: r.dir, workspace: r.workspace };
  } catch (cause) {
    throw new EmbeddedServerError(
      'LOCATION_UNREADABLE',
      `${file} is not valid JSON, so the server's folder is unknown. Nothing was changed. Fix: restore it, or delete it to choose the folder again.`,
      { cause },
    );
  }
  throw new EmbeddedServerError(
    'LOCATION_UNREADABLE',
    `${file} has no "dir"/"workspace", so the server's folder is unknown. Nothing was changed. Fix: restore it, or delete it to choose the folder again.`,
  );
}

/** The server folder: private, ours, and reachable by the server's OS user. */
function ensureServerDir(dir: string, runAs: RunAs | undefined): void {
  ensurePrivateDir(dir, runAs);
  const blocked = runAs ? firstBlockedFolder(dir, runAs) : undefined;
  if (runAs && blocked) {
    throw new EmbeddedServerError(
      'SERVER_DIR_UNREACHABLE',
      `The PostgreSQL server runs as OS user "${runAs.name}" (PostgreSQL refuses root), which cannot reach ${dir}: ${blocked} is private. ` +
        `Nothing was changed. Fix: let "${runAs.name}" pass through ${blocked} (chmod o+x), or set STELLAOPS_SERVER_DIR to a folder it can reach and delete the .location.json record.`,
    );
  }
}

/** The shared base folder: created 0711 when missing; an existing one is left as it is, but must be safe and reachable. */
function ensureBase(base: string, runAs: RunAs): void {
  const st = lstatSync(base, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(base, { recursive: true, mode: 0o711 });
    chmodSync(base, 0o711);
  } else if (!st.isDirectory() || ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0)) {
    throw new EmbeddedServerError(
      'UNSAFE_DIRECTORY',
      `${base} ${st.isDirectory() ? 'is writable by everybody without the sticky bit' : 'is not a folder (or is a symbolic link)'}, so it is not safe to keep PostgreSQL servers there. ` +
        'Fix: remove it so it is created again (0711), or set STELLAOPS_SERVER_DIR to another folder.',
    );
  }
  const blocked = firstBlockedFolder(base, runAs);
  if (blocked) {
    throw new EmbeddedServerError(
      'SERVER_DIR_UNREACHABLE',
      `The checkout is in a private folder, so the PostgreSQL server (OS user "${runAs.name}") keeps its files in ${base} — but it cannot reach that either: ${blocked} is private. ` +
        `Fix: set STELLAOPS_SERVER_DIR to a folder "${runAs.name}" can reach (e.g. /var/lib/stellaops or /dev/shm/stellaops).`,
    );
  }
}
