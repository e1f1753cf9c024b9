import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DURABLE_SETTINGS, EmbeddedCluster, freePort, isPortFree } from './embedded-cluster.js';
import { EmbeddedServerError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { firstBlockedFolder, serverRunAs, type RunAs } from './os-user.js';
import { locateBinaries, type PgBinaries } from './pg-binaries.js';
import { ensurePrivateDir } from './private-dir.js';

/** Port tried first for a new local server. */
export const DEFAULT_LOCAL_PORT = 54329;

/** Options of a {@link LocalServer}. */
export interface LocalServerOptions {
  /** Private folder for the credentials (`server.json`) and the lock; e.g. `<repo>/.stellaops`. */
  rootDir: string;
  /**
   * Folder for what the server's OS user must reach: the data folder
   * (`pgdata`), the log, a copy of the binaries when needed. Default
   * `rootDir`; for a checkout use {@link serverStateDir} (`stella-db up` does),
   * which picks a reachable folder when the checkout is private and root runs it.
   */
  serverDir?: string;
  /** Port for a new server; default 54329, or a free port when that is taken. */
  port?: number;
}

/** State of the local server. */
export interface LocalServerStatus {
  running: boolean;
  /** What `up` did: started a new cluster, restarted one on its data, or found it running. */
  action?: 'initialized' | 'restarted' | 'already-running';
  port: number | undefined;
  pid: number | undefined;
  dataDir: string;
  logFile: string;
  /** Superuser URL (includes the password: print it redacted). */
  superuserUrl: string | undefined;
  version: string;
}

interface SavedState {
  port: number;
  password: string;
}

/**
 * The developer's local PostgreSQL 16: a durable cluster (fsync on) whose data
 * stays in `serverDir` (default `rootDir`) between runs. `up` starts it or finds it running, `down`
 * stops it. Its superuser password is generated once and kept in
 * `rootDir/server.json` (mode 0600).
 *
 * @example
 * ```ts
 * const local = new LocalServer({ rootDir: '.stellaops' });
 * const s = await local.up();        // { running: true, port: 54329, superuserUrl, … }
 * await local.down();
 * ```
 */
export class LocalServer {
  readonly #root: string;
  readonly #serverDir: string;
  readonly #port: number | undefined;
  #parts: { cluster: EmbeddedCluster; binaries: PgBinaries; runAs: RunAs | undefined; dataDir: string } | undefined;

  constructor(options: LocalServerOptions) {
    this.#root = resolve(options.rootDir);
    this.#serverDir = resolve(options.serverDir ?? options.rootDir);
    this.#port = options.port;
  }

  get #stateFile(): string {
    return join(this.#root, 'server.json');
  }

  #state(): SavedState | undefined {
    let text: string;
    try {
      text = readFileSync(this.#stateFile, 'utf8');
    } catch {
      return undefined; // no state yet
    }
    try {
      return JSON.parse(text) as SavedState;
    } catch (cause) {
      throw new EmbeddedServerError(
        'LOCAL_STATE_UNREADABLE',
        `${this.#stateFile} is not valid JSON, so the local server's port and superuser password are unknown. ` +
          'Nothing was changed. Fix: restore the file, or move the .stellaops folder away to start a new, empty local server.',
        { cause },
      );
    }
  }

  #saveState(state: SavedState): void {
    const tmp = `${this.#stateFile}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    renameSync(tmp, this.#stateFile);
  }

  #setup() {
    if (this.#parts) return this.#parts;
    const runAs = serverRunAs();
    ensurePrivateDir(this.#root, runAs);
    const serverDir = this.#serverDir;
    if (serverDir !== this.#root) ensurePrivateDir(serverDir, runAs);
    const blocked = runAs ? firstBlockedFolder(serverDir, runAs) : undefined;
    if (runAs && blocked) {
      throw new EmbeddedServerError(
        'SERVER_DIR_UNREACHABLE',
        `The local PostgreSQL runs as OS user "${runAs.name}" (PostgreSQL refuses root), which cannot reach ${serverDir}: ${blocked} is private. ` +
          `Nothing was changed. Fix: pass serverDir: serverStateDir(<workspace>, 'local') (stella-db up does; it picks /var/lib/stellaops/<checkout id> then), ` +
          `or let "${runAs.name}" pass through ${blocked} (chmod o+x).`,
      );
    }
    const binaries = locateBinaries(runAs, join(serverDir, 'bin-cache'));
    // Older checkouts may have `pgdata` as a link to a folder outside (their data stays there).
    let dataDir = join(serverDir, 'pgdata');
    if (lstatSync(dataDir, { throwIfNoEntry: false })?.isSymbolicLink()) dataDir = resolve(serverDir, readlinkSync(dataDir));
    const logDir = dataDir === join(serverDir, 'pgdata') ? serverDir : join(dataDir, '..');
    const cluster = new EmbeddedCluster({
      binaries,
      dataDir,
      logFile: join(logDir, 'server.log'),
      runAs,
      superuserPassword: this.#state()?.password ?? '',
      settings: DURABLE_SETTINGS,
    });
    this.#parts = { cluster, binaries, runAs, dataDir };
    return this.#parts;
  }

  /** Starts the server, or finds it running; initializes the cluster on first use. */
  async up(): Promise<LocalServerStatus> {
    ensurePrivateDir(this.#root, serverRunAs());
    return withFileLock(join(this.#root, 'server'), async () => {
      let { cluster } = this.#setup();
      if (cluster.runningPort()) return this.status('already-running');
      let action: LocalServerStatus['action'] = 'restarted';
      let state = this.#state();
      if (cluster.isInitialized() && !state) {
        // Never re-initialize (that would delete the data) just because the credentials file is gone.
        throw new EmbeddedServerError(
          'LOCAL_STATE_MISSING',
          `The local cluster in ${cluster.dataDir} exists but ${this.#stateFile} (its port and superuser password) is missing. ` +
            'Nothing was changed. Fix: restore that file, or move the .stellaops folder away to start a new, empty local server.',
        );
      }
      if (!state) {
        state = {
          port: this.#port ?? ((await isPortFree(DEFAULT_LOCAL_PORT)) ? DEFAULT_LOCAL_PORT : await freePort()),
          password: randomBytes(18).toString('base64url'),
        };
        this.#saveState(state);
        this.#parts = undefined;
        cluster = this.#setup().cluster;
        await cluster.initialize();
        action = 'initialized';
      }
      // The saved port is only a preference: when another process holds it (another checkout's server, say) and no
      // port was asked for, take a free one and remember it; `stella-db url` always reports the current one.
      let port = this.#port ?? state.port;
      if (this.#port === undefined && !(await isPortFree(port))) port = await freePort();
      await cluster.start(port);
      if (port !== state.port) this.#saveState({ ...state, port });
      return this.status(action);
    });
  }

  /** Stops the server; returns false when it was not running. */
  async down(): Promise<boolean> {
    ensurePrivateDir(this.#root, serverRunAs());
    return withFileLock(join(this.#root, 'server'), async () => {
      const { cluster } = this.#setup();
      if (!cluster.runningPid()) return false;
      await cluster.stop();
      return true;
    });
  }

  /** Whether it runs, where, and how to connect. */
  status(action?: LocalServerStatus['action']): LocalServerStatus {
    const { cluster, binaries } = this.#setup();
    const port = cluster.runningPort();
    const state = this.#state();
    return {
      running: port !== undefined,
      ...(action ? { action } : {}),
      port,
      pid: cluster.runningPid(),
      dataDir: cluster.dataDir,
      logFile: cluster.logFile,
      superuserUrl: port && state ? `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${port}/postgres` : undefined,
      version: binaries.version,
    };
  }
}
