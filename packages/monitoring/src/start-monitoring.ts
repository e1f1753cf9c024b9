import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { MONITORING_ASSETS } from './assets.js';
import { MonitoringConfigError, MonitoringError, MonitoringStartError } from './errors.js';
import { exitStatus, isRunning, logTail, type ProcessRecord, spawnDetached, stopProcess } from './processes.js';
import { JOBS, renderPrometheusConfig, type ScrapeTarget } from './prometheus-config.js';

/** How the postgres_exporter reaches PostgreSQL (use the monitoring role, see `monitoringSetupStatements`). */
export interface PostgresTarget {
  host: string;
  port: number;
  /** The least-privilege monitoring role, e.g. `stellaops_monitor`. */
  user: string;
  password: string;
  /** Database holding `stellaops_monitoring` (where the setup SQL ran). */
  database: string;
  /** CA certificate file: TLS with `verify-full`. Required unless `host` is loopback. */
  sslrootcert?: string;
}

/** How the PgBouncer exporter reaches PgBouncer's admin console (a `stats_users` user). */
export interface PgBouncerTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** CA certificate file: TLS with `verify-full`. Required unless `host` is loopback. */
  sslrootcert?: string;
}

/** Paths of the programs; the defaults are Debian's packages. */
export interface MonitoringBinaries {
  prometheus: string;
  postgresExporter: string;
  /** Debian's exporter (checked to be installed; it runs through `python` and this package's shim). */
  pgbouncerExporter: string;
  /** The Python that has Debian's `prometheus_pgbouncer_exporter` module. */
  python: string;
}

/** Debian's `prometheus`, `prometheus-postgres-exporter` and `prometheus-pgbouncer-exporter`. */
export const DEFAULT_BINARIES: MonitoringBinaries = {
  prometheus: '/usr/bin/prometheus',
  postgresExporter: '/usr/bin/prometheus-postgres-exporter',
  pgbouncerExporter: '/usr/bin/prometheus-pgbouncer-exporter',
  python: '/usr/bin/python3',
};

/** Where Prometheus' console libraries (prom.lib, menu.lib) are looked for, in order. */
export const CONSOLE_LIBRARY_DIRS = [
  '/usr/share/prometheus/console_libraries',
  '/etc/prometheus/console_libraries',
  '/usr/share/doc/prometheus/examples/console_libraries',
];

/** Options of {@link startMonitoring}. */
export interface MonitoringOptions {
  /** State folder: generated config, TSDB, logs, secrets (0600) and `monitoring.json`. */
  dir: string;
  postgres: PostgresTarget;
  pgbouncer: PgBouncerTarget;
  /** More targets to scrape, e.g. the reference service's /metrics. */
  extraScrapeTargets?: ScrapeTarget[];
  /** Loopback ports; each unset one is a free port picked at start. */
  ports?: { prometheus?: number; postgresExporter?: number; pgbouncerExporter?: number };
  /** Scrape and rule evaluation interval; default 15 s. */
  scrapeIntervalSeconds?: number;
  /** TSDB retention; default `15d`. */
  retention?: string;
  /** `cluster` label on every series; default `local`. */
  clusterName?: string;
  binaries?: Partial<MonitoringBinaries>;
  /** How long each component may take to become ready; default 30 s. */
  startTimeoutMs?: number;
}

/** One component as {@link MonitoringHandle.status} reports it. */
export interface MonitoringComponentStatus {
  name: string;
  pid: number;
  port: number;
  url: string;
  running: boolean;
  logFile: string;
}

/** State of the monitoring stack of one state folder. */
export interface MonitoringStatus {
  /** True when every component runs. */
  running: boolean;
  prometheusUrl: string | undefined;
  dashboardUrl: string | undefined;
  components: MonitoringComponentStatus[];
}

/** A running monitoring stack. */
export interface MonitoringHandle {
  /** `started`, or `already-running` when every component of `dir` was running already. */
  action: 'started' | 'already-running';
  prometheusUrl: string;
  /** The console dashboard, `<prometheusUrl>/consoles/stellaops-postgres.html`. */
  dashboardUrl: string;
  status(): MonitoringStatus;
  stop(): Promise<void>;
}

interface StateFile {
  version: 1;
  prometheusUrl: string;
  components: ProcessRecord[];
}

const STATE_FILE = 'monitoring.json';
const DASHBOARD_PATH = '/consoles/stellaops-postgres.html';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Starts postgres_exporter (custom queries of this package), the PgBouncer
 * exporter and Prometheus (rules + console dashboard), each detached on
 * 127.0.0.1, and waits until each is ready: the postgres exporter must report
 * `pg_up 1` with its queries loaded, so a wrong password or certificate fails
 * here with the exporter's log. The processes outlive the caller;
 * {@link stopMonitoring} / {@link monitoringStatus} find them again from `dir`.
 * A second call while everything runs returns `action: 'already-running'`.
 *
 * @example
 * ```ts
 * const m = await startMonitoring({
 *   dir: '/var/lib/stellaops/monitoring',
 *   postgres: { host: '127.0.0.1', port: 5432, user: 'stellaops_monitor', password, database: 'postgres', sslrootcert: '/…/ca.crt' },
 *   pgbouncer: { host: '127.0.0.1', port: 6432, user: 'stellaops_stats', password: statsPassword, sslrootcert: '/…/ca.crt' },
 * });
 * console.log(m.dashboardUrl);
 * await m.stop();
 * ```
 */
export async function startMonitoring(options: MonitoringOptions): Promise<MonitoringHandle> {
  const o = validate(options);
  const dir = resolve(o.dir);
  const existing = readState(dir);
  if (existing) {
    if (existing.components.length === 3 && existing.components.every(isRunning)) {
      return handle(dir, existing.prometheusUrl, 'already-running');
    }
    await stopMonitoring(dir); // half-running: start clean
  }
  const layout = prepareDir(dir, o);
  const secrets = [o.postgres.password, encodeURIComponent(o.postgres.password), o.pgbouncer.password];
  const started: ProcessRecord[] = [];
  const timeout = o.startTimeoutMs ?? 30_000;
  try {
    const pgPort = o.ports?.postgresExporter ?? (await freePort());
    const pgExporter = startPostgresExporter(o, layout, pgPort);
    started.push(pgExporter);
    await waitReady(
      pgExporter,
      secrets,
      timeout,
      async () => {
        const text = await get(`http://127.0.0.1:${pgPort}/metrics`);
        if (text === undefined) return false;
        if (/^pg_exporter_user_queries_load_error\{[^}]*\} 1$/m.test(text)) throw new Error('the custom queries file did not load');
        return /^pg_up 1$/m.test(text);
      },
      `postgres_exporter could not query PostgreSQL at ${o.postgres.host}:${o.postgres.port} as ${o.postgres.user}. Fix: check the role exists (monitoringSetupStatements), its password, pg_hba and, with TLS, that the server certificate matches the host and sslrootcert.`,
    );

    const bouncerPort = o.ports?.pgbouncerExporter ?? (await freePort());
    const bouncerExporter = startPgBouncerExporter(o, layout, bouncerPort);
    started.push(bouncerExporter);
    await waitReady(
      bouncerExporter,
      secrets,
      timeout,
      async () => {
        const text = await get(`http://127.0.0.1:${bouncerPort}/metrics`);
        return text !== undefined && /^pgbouncer_pools /m.test(text);
      },
      `The PgBouncer exporter could not read PgBouncer's admin console at ${o.pgbouncer.host}:${o.pgbouncer.port} as ${o.pgbouncer.user}. Fix: the user must be in PgBouncer's stats_users (or admin_users) and auth_file; check the password and TLS settings.`,
    );

    const promPort = o.ports?.prometheus ?? (await freePort());
    writeFileSync(
      layout.config,
      renderPrometheusConfig({
        prometheusPort: promPort,
        postgresExporterPort: pgPort,
        pgbouncerExporterPort: bouncerPort,
        extraScrapeTargets: o.extraScrapeTargets ?? [],
        ruleFiles: [layout.rules],
        scrapeIntervalSeconds: o.scrapeIntervalSeconds ?? 15,
        clusterName: o.clusterName ?? 'local',
      }),
      { mode: 0o600 },
    );
    const prometheus = startPrometheus(o, layout, promPort);
    started.push(prometheus);
    await waitReady(
      prometheus,
      secrets,
      timeout,
      async () => (await get(`http://127.0.0.1:${promPort}/-/ready`)) !== undefined,
      `Prometheus did not become ready on 127.0.0.1:${promPort}.`,
    );

    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    const state: StateFile = { version: 1, prometheusUrl, components: started };
    writeFileSync(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    return handle(dir, prometheusUrl, 'started');
  } catch (e) {
    for (const p of started.reverse()) await stopProcess(p);
    throw e;
  }
}

/**
 * Status of the monitoring stack of `dir` (from its `monitoring.json`).
 *
 * @example
 * ```ts
 * const s = monitoringStatus('/var/lib/stellaops/monitoring');
 * if (s.running) console.log(s.dashboardUrl);
 * ```
 */
export function monitoringStatus(dir: string): MonitoringStatus {
  const state = readState(resolve(dir));
  if (!state) return { running: false, prometheusUrl: undefined, dashboardUrl: undefined, components: [] };
  const components = state.components.map((c) => ({
    name: c.name,
    pid: c.pid,
    port: c.port,
    url: `http://127.0.0.1:${c.port}`,
    running: isRunning(c),
    logFile: c.logFile,
  }));
  return {
    running: components.length === 3 && components.every((c) => c.running),
    prometheusUrl: state.prometheusUrl,
    dashboardUrl: `${state.prometheusUrl}${DASHBOARD_PATH}`,
    components,
  };
}

/**
 * Stops every component of `dir` (SIGTERM, then SIGKILL after 10 s) and
 * removes its state file. Returns how many processes were running.
 *
 * @example
 * ```ts
 * await stopMonitoring('/var/lib/stellaops/monitoring');
 * ```
 */
export async function stopMonitoring(dir: string): Promise<number> {
  const abs = resolve(dir);
  const state = readState(abs);
  if (!state) return 0;
  let stopped = 0;
  // Prometheus first, so it does not record the exporters' shutdown as an outage
  for (const c of [...state.components].reverse()) if (await stopProcess(c)) stopped++;
  rmSync(join(abs, STATE_FILE), { force: true });
  return stopped;
}

function handle(dir: string, prometheusUrl: string, action: MonitoringHandle['action']): MonitoringHandle {
  return {
    action,
    prometheusUrl,
    dashboardUrl: `${prometheusUrl}${DASHBOARD_PATH}`,
    status: () => monitoringStatus(dir),
    stop: async () => {
      await stopMonitoring(dir);
    },
  };
}

function readState(dir: string): StateFile | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as StateFile;
    return state.version === 1 && Array.isArray(state.components) ? state : undefined;
  } catch (e) {
    throw new MonitoringError(
      'MONITORING_STATE_UNREADABLE',
      `${file} is not valid JSON. Fix: stop the exporters and Prometheus started from ${dir} by hand, then delete the file.`,
      { cause: e },
    );
  }
}

interface Layout {
  config: string;
  rules: string;
  consoles: string;
  consoleLibraries: string;
  data: string;
  logs: string;
  pgPassFile: string;
  bouncerPassFile: string;
}

function prepareDir(dir: string, o: MonitoringOptions): Layout {
  const p = (...parts: string[]) => join(dir, ...parts);
  for (const d of [
    dir,
    p('secrets'),
    p('logs'),
    p('prometheus'),
    p('prometheus', 'data'),
    p('prometheus', 'consoles'),
    p('prometheus', 'console_libraries'),
    p('prometheus', 'rules'),
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const layout: Layout = {
    config: p('prometheus', 'prometheus.yml'),
    rules: p('prometheus', 'rules', 'stellaops-postgres.rules.yml'),
    consoles: p('prometheus', 'consoles'),
    consoleLibraries: p('prometheus', 'console_libraries'),
    data: p('prometheus', 'data'),
    logs: p('logs'),
    pgPassFile: p('secrets', 'postgres-exporter.password'),
    bouncerPassFile: p('secrets', 'pgbouncer-exporter.pgpass'),
  };
  copyFileSync(MONITORING_ASSETS.rules, layout.rules);
  copyFileSync(MONITORING_ASSETS.console, join(layout.consoles, 'stellaops-postgres.html'));
  copyConsoleLibraries(layout.consoleLibraries);
  writeFileSync(layout.pgPassFile, o.postgres.password, { mode: 0o600 });
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  writeFileSync(
    layout.bouncerPassFile,
    `${esc(o.pgbouncer.host)}:${o.pgbouncer.port}:pgbouncer:${esc(o.pgbouncer.user)}:${esc(o.pgbouncer.password)}\n`,
    { mode: 0o600 },
  );
  return layout;
}

/** Copies Debian's console libraries (not kept in git) into the generated config folder. */
function copyConsoleLibraries(target: string): void {
  for (const dir of CONSOLE_LIBRARY_DIRS) {
    if (!existsSync(join(dir, 'prom.lib')) && !existsSync(join(dir, 'prom.lib.gz'))) continue;
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.lib')) copyFileSync(join(dir, f), join(target, f));
      else if (f.endsWith('.lib.gz')) writeFileSync(join(target, f.slice(0, -3)), gunzipSync(readFileSync(join(dir, f))));
    }
    return;
  }
  throw new MonitoringConfigError([
    `Prometheus' console libraries (prom.lib) were not found in ${CONSOLE_LIBRARY_DIRS.join(', ')}. Fix: apt-get install prometheus (Debian ships them under /usr/share/doc/prometheus/examples).`,
  ]);
}

function tlsEnvForLibpq(t: PgBouncerTarget): NodeJS.ProcessEnv {
  return t.sslrootcert ? { PGSSLMODE: 'verify-full', PGSSLROOTCERT: t.sslrootcert } : { PGSSLMODE: 'disable' };
}

function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
}

function startPostgresExporter(o: MonitoringOptions, layout: Layout, port: number): ProcessRecord {
  const pg = o.postgres;
  const host = pg.host.includes(':') ? `[${pg.host}]` : pg.host;
  const ssl = pg.sslrootcert ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(pg.sslrootcert)}` : 'sslmode=disable';
  const listen = `127.0.0.1:${port}`;
  const logFile = join(layout.logs, 'postgres-exporter.log');
  const pid = spawnDetached(
    o.binaries?.postgresExporter ?? DEFAULT_BINARIES.postgresExporter,
    [
      `--web.listen-address=${listen}`,
      `--extend.query-path=${MONITORING_ASSETS.queries}`,
      // every dashboard metric comes from the custom queries; the built-in maps and
      // the bgwriter collector (its columns move in PG17) are off
      '--disable-default-metrics',
      '--disable-settings-metrics',
      '--no-collector.database',
      '--no-collector.bgwriter',
      '--log.format=json',
    ],
    {
      ...baseEnv(),
      DATA_SOURCE_URI: `${host}:${pg.port}/${encodeURIComponent(pg.database)}?${ssl}&connect_timeout=5&application_name=stellaops-postgres-exporter`,
      DATA_SOURCE_USER: pg.user,
      DATA_SOURCE_PASS_FILE: layout.pgPassFile,
    },
    logFile,
  );
  return { name: 'postgres-exporter', pid, port, marker: `--web.listen-address=${listen}`, logFile };
}

function startPgBouncerExporter(o: MonitoringOptions, layout: Layout, port: number): ProcessRecord {
  const b = o.pgbouncer;
  const logFile = join(layout.logs, 'pgbouncer-exporter.log');
  // Debian's exporter through the shim that adapts it to PgBouncer 1.18 (see the shim's docstring)
  const pid = spawnDetached(
    o.binaries?.python ?? DEFAULT_BINARIES.python,
    [
      MONITORING_ASSETS.pgbouncerExporterShim,
      '--host',
      '127.0.0.1',
      `--port=${port}`,
      '--pgbouncer-host',
      b.host,
      '--pgbouncer-port',
      String(b.port),
      '--pgbouncer-user',
      b.user,
    ],
    { ...baseEnv(), ...tlsEnvForLibpq(b), PGPASSFILE: layout.bouncerPassFile, PGCONNECT_TIMEOUT: '5' },
    logFile,
  );
  return { name: 'pgbouncer-exporter', pid, port, marker: `--port=${port}`, logFile };
}

function startPrometheus(o: MonitoringOptions, layout: Layout, port: number): ProcessRecord {
  const listen = `127.0.0.1:${port}`;
  const logFile = join(layout.logs, 'prometheus.log');
  const pid = spawnDetached(
    o.binaries?.prometheus ?? DEFAULT_BINARIES.prometheus,
    [
      `--config.file=${layout.config}`,
      `--storage.tsdb.path=${layout.data}`,
      `--storage.tsdb.retention.time=${o.retention ?? '15d'}`,
      `--web.listen-address=${listen}`,
      `--web.console.templates=${layout.consoles}`,
      `--web.console.libraries=${layout.consoleLibraries}`,
      '--log.format=json',
    ],
    baseEnv(),
    logFile,
  );
  return { name: 'prometheus', pid, port, marker: `--web.listen-address=${listen}`, logFile };
}

async function waitReady(
  p: ProcessRecord,
  secrets: readonly string[],
  timeoutMs: number,
  ready: () => Promise<boolean>,
  hint: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      if (await ready()) return;
    } catch (e) {
      failure = e;
    }
    const alive = isRunning(p);
    if (failure || !alive || performance.now() > deadline) {
      await sleep(100); // let it flush its last log line (and Node see its exit)
      // a passing misreading of /proc (within the deadline)
      if (!failure && !alive && exitStatus(p.pid) === undefined && performance.now() <= deadline && isRunning(p)) continue;
      const why = failure
        ? (failure as Error).message
        : alive
          ? `not ready after ${Math.round(timeoutMs / 1000)} s`
          : `exited: ${exitStatus(p.pid) ?? 'no exit status seen, the process is gone or no longer has its command line'}`;
      throw new MonitoringStartError(p.name, `${p.name} did not start (${why}). ${hint}`, logTail(p.logFile, secrets), { cause: failure });
    }
    await sleep(100);
  }
}

async function get(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function validate(o: MonitoringOptions): MonitoringOptions {
  const problems: string[] = [];
  if (!o || typeof o !== 'object') throw new MonitoringConfigError(['options must be an object with dir, postgres and pgbouncer.']);
  if (typeof o.dir !== 'string' || !o.dir) problems.push('dir is required: the folder for the generated config, data and logs.');
  const target = (name: 'postgres' | 'pgbouncer', t: PostgresTarget | PgBouncerTarget | undefined) => {
    if (!t) {
      problems.push(`${name} is required.`);
      return;
    }
    if (!t.host) problems.push(`${name}.host is required.`);
    else if (!t.sslrootcert && !LOOPBACK.has(t.host)) {
      problems.push(
        `${name}.host ${t.host} is not loopback and no ${name}.sslrootcert is given: refusing plaintext TCP. Fix: pass the CA file of the server certificate.`,
      );
    } else if (t.sslrootcert && isIP(t.host) === 0 && t.host !== 'localhost' && !/^[a-z0-9.-]+$/i.test(t.host)) {
      problems.push(`${name}.host ${t.host} is not a valid host name.`);
    }
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
      problems.push(`${name}.port ${String(t.port)} must be a TCP port (1-65535).`);
    if (!t.user) problems.push(`${name}.user is required.`);
    if (!t.password) problems.push(`${name}.password is required.`);
    if (t.sslrootcert) {
      try {
        accessSync(t.sslrootcert, constants.R_OK);
      } catch {
        problems.push(`${name}.sslrootcert ${t.sslrootcert} cannot be read.`);
      }
    }
  };
  target('postgres', o.postgres);
  target('pgbouncer', o.pgbouncer);
  if (o.postgres && !o.postgres.database) problems.push('postgres.database is required: the database where monitoringSetupStatements ran.');
  for (const t of o.extraScrapeTargets ?? []) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(t.job ?? '') || Object.values(JOBS).includes(t.job as never)) {
      problems.push(
        `extraScrapeTargets job "${t.job}" must be a label value of letters, digits, _ and - and not one of ${Object.values(JOBS).join(', ')}.`,
      );
    }
    for (const target of t.targets ?? [])
      if (!/^[^\s/]+:\d{1,5}$/.test(target)) problems.push(`extraScrapeTargets target "${target}" of ${t.job} must be host:port.`);
    if (!t.targets?.length) problems.push(`extraScrapeTargets ${t.job} has no targets.`);
  }
  const interval = o.scrapeIntervalSeconds ?? 15;
  if (!Number.isInteger(interval) || interval < 1 || interval > 300)
    problems.push(`scrapeIntervalSeconds ${interval} must be an integer from 1 to 300.`);
  for (const [k, v] of Object.entries(o.ports ?? {})) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 65535))
      problems.push(`ports.${k} ${String(v)} must be a TCP port (1-65535).`);
  }
  const bins = { ...DEFAULT_BINARIES, ...o.binaries };
  for (const [k, path] of Object.entries(bins)) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      problems.push(
        `binaries.${k} ${path} is missing or not executable. Fix: apt-get install prometheus prometheus-postgres-exporter prometheus-pgbouncer-exporter.`,
      );
    }
  }
  if (problems.length) throw new MonitoringConfigError(problems);
  return o;
}
