import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { ensurePrivateDir, freePorts, locateBinaries, serverRunAs, withFileLock, type RunAs } from '@stellaops/embedded-server';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ClusterStateError, MissingPackageError } from './errors.js';
import { clusterLayout, type ClusterLayout } from './layout.js';
import { PgBouncerComponent, PGBOUNCER_ADMIN, PGBOUNCER_STATS } from './pgbouncer-component.js';
import { adminClient, PostgresComponent } from './postgres-component.js';
import { MonitoringComponent, type MonitoringComponentOptions } from './monitoring-component.js';
import { ensureDir, findProgram } from './proc.js';
import { RolesComponent } from './roles-component.js';
import { computeSettings, type ClusterSettings } from './settings.js';
import { newPassword, readJson, writeJson, type ClusterSecrets, type ClusterState, type PoolerReset } from './state.js';
import { TlsComponent } from './tls-component.js';
import { validateSettingsWithServer } from './validate-settings.js';

/** Debian packages the cluster needs, by program. */
export const REQUIRED_PROGRAMS: readonly { binary: string; pkg: string }[] = [
  { binary: 'openssl', pkg: 'openssl' },
  { binary: 'pgbouncer', pkg: 'pgbouncer' },
];

/** Options of a {@link Cluster}. */
export interface ClusterOptions {
  /** The cluster's root folder (see {@link ClusterLayout}); must exist, owned by this user. */
  root: string;
  /** Memory target; default: the saved one, else this host's RAM. */
  memoryBytes?: number;
  /** `--set` overrides; default: the saved ones. */
  overrides?: Record<string, string>;
  /** Ports for a new cluster (default: free ones); given on a later `up`, they replace the saved ones. */
  ports?: { postgres?: number; pgbouncer?: number };
  /** Program paths (tests simulate a missing package with a path that does not exist). */
  programs?: { openssl?: string; pgbouncer?: string };
  /** Roles the modules' migrations grant to (created like the owner and app roles). */
  moduleRoles?: readonly string[];
  /** The monitoring component (exporters + Prometheus): mode, extra scrape targets. */
  monitoring?: MonitoringComponentOptions;
  /** PgBouncer's reset after each transaction; default: the saved one, else `driver`. */
  poolerReset?: PoolerReset;
  /** Components started after the built-in ones (e.g. backups). */
  extraComponents?: readonly ClusterComponent[];
  /** Progress lines (default: none). */
  onProgress?: (message: string) => void;
}

/** What `up` and `status` return. */
export interface ClusterStatus {
  root: string;
  /** Overall: every component running/ready. */
  healthy: boolean;
  components: ComponentStatus[];
  /** Settings whose running value differs from the computed one (`SHOW` vs seed), when the server answers. */
  differingSettings?: { name: string; expected: string; actual: string; pendingRestart: boolean }[];
}

/**
 * The production-shaped cluster on this machine: TLS material, PostgreSQL 16,
 * roles and database, PgBouncer — components started in order by `up`,
 * stopped in reverse by `down`, each asked by `status`. Everything lives
 * under one root folder ({@link ClusterLayout}); `up` is idempotent and
 * after a crash restarts what died (PostgreSQL recovers from its WAL).
 *
 * @example
 * ```ts
 * const cluster = new Cluster({ root: '/var/lib/stellaops/cluster-1a2b', memoryBytes: parseMemory('4GiB') });
 * const s = await cluster.up();
 * const env = cluster.connectionInfo(); // app via PgBouncer, owner direct
 * await cluster.down();
 * ```
 */
export class Cluster {
  readonly #o: ClusterOptions;
  readonly layout: ClusterLayout;
  readonly #runAs: RunAs | undefined;
  readonly postgres = new PostgresComponent();
  readonly pgbouncer = new PgBouncerComponent();
  readonly monitoring: MonitoringComponent;

  constructor(options: ClusterOptions) {
    this.#o = options;
    this.monitoring = new MonitoringComponent(options.monitoring);
    this.layout = clusterLayout(options.root);
    this.#runAs = serverRunAs();
  }

  /** The components in start order. */
  components(): ClusterComponent[] {
    return [
      new TlsComponent(),
      this.postgres,
      new RolesComponent(this.#o.moduleRoles ?? []),
      this.pgbouncer,
      this.monitoring,
      ...(this.#o.extraComponents ?? []),
    ];
  }

  /**
   * Checks the Debian packages first (monitoring's too when its mode is `on`);
   * throws {@link MissingPackageError} with the exact apt-get command.
   */
  checkPrerequisites(): Record<string, string> {
    const found: Record<string, string> = {};
    const missing: { pkg: string; binary: string }[] = [];
    for (const { binary, pkg } of REQUIRED_PROGRAMS) {
      const p = findProgram(binary, this.#o.programs?.[binary as 'openssl' | 'pgbouncer']);
      if (p) found[binary] = p;
      else missing.push({ pkg, binary });
    }
    const saved = readJson<ClusterState>(this.layout.stateFile, "the cluster's ports and settings");
    if (this.monitoring.mode(saved) === 'on') missing.push(...this.monitoring.programs().missing);
    if (missing.length > 0) throw new MissingPackageError(missing);
    return found;
  }

  /** Starts every component (or finds it running); creates the cluster on first use. */
  async up(): Promise<ClusterStatus> {
    const programs = this.checkPrerequisites();
    ensurePrivateDir(this.layout.root, this.#runAs);
    return withFileLock(this.layout.stateFile.replace(/\.json$/, ''), async () => {
      const ctx = await this.#context(programs, true);
      // folders every component may use; each component creates its own beyond these
      for (const d of [this.layout.logsDir, this.layout.backupsDir, this.layout.monitoringDir]) ensureDir(d, this.#runAs ? 0o711 : 0o700);
      for (const c of this.components()) await c.start(ctx);
      if (!ctx.state.up) writeJson(this.layout.stateFile, { ...ctx.state, up: true }, 0o644);
      return this.#status({ ...ctx, state: { ...ctx.state, up: true } });
    });
  }

  /** Stops every component in reverse order; the data stays. */
  async down(): Promise<ClusterStatus> {
    this.#checkRoot();
    return withFileLock(this.layout.stateFile.replace(/\.json$/, ''), async () => {
      const ctx = await this.#context(this.#programsLenient(), false);
      for (const c of this.components().reverse()) await c.stop(ctx);
      writeJson(this.layout.stateFile, { ...ctx.state, up: false }, 0o644);
      return this.#status({ ...ctx, state: { ...ctx.state, up: false } });
    });
  }

  /** Each component's state, without changing anything. */
  async status(): Promise<ClusterStatus> {
    this.#checkRoot();
    const ctx = await this.#context(this.#programsLenient(), false);
    return this.#status(ctx);
  }

  /** The context for a component (state and secrets loaded; tests and extensions). */
  async context(): Promise<ClusterContext> {
    return this.#context(this.#programsLenient(), false);
  }

  #checkRoot(): void {
    if (!existsSync(this.layout.root)) {
      throw new ClusterStateError(
        `The cluster folder ${this.layout.root} does not exist. Fix: run "stella-db cluster up" first (it creates it).`,
      );
    }
  }

  #programsLenient(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { binary } of REQUIRED_PROGRAMS) {
      const p = findProgram(binary, this.#o.programs?.[binary as 'openssl' | 'pgbouncer']);
      if (p) out[binary] = p;
    }
    return out;
  }

  async #context(programs: Record<string, string>, creating: boolean): Promise<ClusterContext> {
    const saved = readJson<ClusterState>(this.layout.stateFile, "the cluster's ports and settings");
    let secrets = readJson<ClusterSecrets>(this.layout.secretsFile, "the cluster's generated passwords");
    if (saved && existsSync(this.layout.dataDir) && !secrets) {
      throw new ClusterStateError(
        `The cluster in ${this.layout.root} exists but ${this.layout.secretsFile} (its generated passwords) is missing. Nothing was changed. ` +
          'Fix: restore that file, or move the cluster folder away to start a new, empty cluster.',
      );
    }
    if (!saved && !creating) {
      throw new ClusterStateError(`No cluster in ${this.layout.root} yet. Fix: run "stella-db cluster up" first.`);
    }
    const o = this.#o;
    const state: ClusterState = {
      version: 1,
      ports: { ...saved?.ports, ...(await this.#serverPorts(saved)) },
      memoryBytes: o.memoryBytes ?? saved?.memoryBytes ?? totalmem(),
      overrides: o.overrides ?? saved?.overrides ?? {},
      up: saved?.up ?? false,
      poolerReset: o.poolerReset ?? saved?.poolerReset ?? 'driver',
      ...(saved?.monitoring ? { monitoring: saved.monitoring } : {}),
    };
    if (state.ports.postgres === state.ports.pgbouncer) {
      throw new ClusterStateError(
        `PostgreSQL and PgBouncer cannot share port ${state.ports.postgres}. Fix: give different --port and --pgbouncer-port.`,
      );
    }
    const settings: ClusterSettings = computeSettings({ memoryBytes: state.memoryBytes, overrides: state.overrides, layout: this.layout });
    if (creating) {
      // PostgreSQL checks the values before anything is written or started (root may run `postgres -C`)
      await validateSettingsWithServer(locateBinaries(undefined, this.layout.binCacheDir).postgres, settings.postgres);
      if (!secrets) secrets = { superuser: newPassword(), roles: {}, pgbouncer: {} };
      for (const u of [PGBOUNCER_ADMIN, PGBOUNCER_STATS]) secrets.pgbouncer[u] ??= newPassword();
      writeJson(this.layout.secretsFile, secrets, 0o600);
      writeJson(this.layout.stateFile, state, 0o644);
    }
    const progress = o.onProgress ?? (() => undefined);
    const stateFile = this.layout.stateFile;
    const allocatePort = async (name: string): Promise<number> => {
      const saved = state.ports[name];
      if (saved !== undefined) return saved;
      const taken = new Set(Object.values(state.ports));
      const port = (await freePorts(taken.size + 1)).find((p) => !taken.has(p))!;
      state.ports[name] = port;
      const onDisk = readJson<ClusterState>(stateFile, "the cluster's ports and settings");
      writeJson(stateFile, { ...(onDisk ?? state), ports: { ...(onDisk?.ports ?? state.ports), [name]: port } }, 0o644);
      return port;
    };
    const loaded = secrets ?? { superuser: '', roles: {}, pgbouncer: {} };
    const saveSecrets = () => writeJson(this.layout.secretsFile, loaded, 0o600);
    return { layout: this.layout, runAs: this.#runAs, settings, state, secrets: loaded, programs, progress, allocatePort, saveSecrets };
  }

  /** The PostgreSQL and PgBouncer ports: given, saved, or free ones (never one port for both). */
  async #serverPorts(saved: ClusterState | undefined): Promise<{ postgres: number; pgbouncer: number }> {
    const postgres = this.#o.ports?.postgres ?? saved?.ports.postgres;
    const pgbouncer = this.#o.ports?.pgbouncer ?? saved?.ports.pgbouncer;
    if (postgres !== undefined && pgbouncer !== undefined) return { postgres, pgbouncer };
    const fresh = (await freePorts(3)).filter((p) => p !== postgres && p !== pgbouncer);
    return { postgres: postgres ?? fresh[0]!, pgbouncer: pgbouncer ?? fresh[1]! };
  }

  async #status(ctx: ClusterContext): Promise<ClusterStatus> {
    const components: ComponentStatus[] = [];
    for (const c of this.components()) components.push(await c.status(ctx));
    const out: ClusterStatus = {
      root: this.layout.root,
      healthy: components.every((c) => c.state === 'running' || c.state === 'ready' || c.state === 'disabled'),
      components,
    };
    const pgIndex = components.findIndex((c) => c.name === 'postgres');
    if (components[pgIndex]?.state === 'running') {
      out.differingSettings = await this.#differing(ctx).catch(() => undefined);
      const tls = await this.#tlsState(ctx).catch(() => undefined);
      if (tls) components[pgIndex] = { ...components[pgIndex], tls };
    }
    return out;
  }

  /** `ssl=on (TLSv1.3), 12/12 TCP sessions on TLS`: what the server says, not what was configured. */
  async #tlsState(ctx: ClusterContext): Promise<string> {
    const admin = adminClient(ctx);
    await admin.connect();
    try {
      const r = await admin.query<{ ssl: string; tls: number; tcp: number; version: string | null }>(
        `select current_setting('ssl') as ssl,
                count(*) filter (where s.ssl)::int as tls, count(*)::int as tcp,
                max(s.version) as version
           from pg_stat_activity a join pg_stat_ssl s using (pid)
          where a.client_addr is not null`,
      );
      const row = r.rows[0]!;
      return `ssl=${row.ssl}${row.version ? ` (${row.version})` : ''}, ${row.tls}/${row.tcp} TCP sessions on TLS`;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  async #differing(ctx: ClusterContext): Promise<ClusterStatus['differingSettings']> {
    const admin = adminClient(ctx);
    await admin.connect();
    try {
      const names = ctx.settings.postgres.map((s) => s.name);
      const r = await admin.query<{ name: string; setting: string; unit: string | null; pending_restart: boolean }>(
        'select name, setting, unit, pending_restart from pg_settings where name = any($1::text[])',
        [names],
      );
      const shown = new Map<string, string>();
      for (const n of names) {
        // SHOW gives the value in the same units the settings use (16GB, 64MB, on)
        const v = await admin.query<{ v: string | null }>(`select current_setting($1, true) as v`, [n]);
        shown.set(n, String(v.rows[0]?.v ?? ''));
      }
      const out: NonNullable<ClusterStatus['differingSettings']> = [];
      for (const s of ctx.settings.postgres) {
        const actual = shown.get(s.name) ?? '';
        const row = r.rows.find((x) => x.name === s.name);
        if (!sameValue(s.value, actual))
          out.push({ name: s.name, expected: s.value, actual, pendingRestart: row?.pending_restart ?? false });
      }
      return out;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
}

const UNIT: Record<string, number> = {
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Compares setting values the way PostgreSQL normalizes them (`16GB` = `16384MB`, `1s` = `1000ms`, `on` = `true`). */
export function sameValue(expected: string, actual: string): boolean {
  const norm = (v: string): string => {
    const t = v.trim().toLowerCase();
    if (['on', 'true', 'yes', '1'].includes(t)) return 'on';
    if (['off', 'false', 'no', '0'].includes(t)) return 'off';
    const m = /^(-?\d+(?:\.\d+)?)\s*(kb|mb|gb|tb|ms|s|min|h|d)$/.exec(t);
    if (m) return String(Number(m[1]) * UNIT[m[2]!]!);
    return t;
  };
  return norm(expected) === norm(actual);
}
