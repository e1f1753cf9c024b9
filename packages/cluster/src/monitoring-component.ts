import { basename } from 'node:path';
import {
  DEFAULT_MONITORING_ROLE,
  JOBS,
  MonitoringStartError,
  ensureMonitoringSetup,
  monitoringStatus,
  startMonitoring,
  stopMonitoring,
  type PgBouncerTarget,
  type PostgresTarget,
  type ScrapeTarget,
} from '@stellaops/monitoring';
import type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
import { ClusterStateError, ComponentError, InvalidClusterInputError } from './errors.js';
import { PGBOUNCER_STATS } from './pgbouncer-component.js';
import { adminClient, DATABASE } from './postgres-component.js';
import { findProgram } from './proc.js';
import { quoteIdentifier } from '@stellaops/postgres-core';
import { newPassword, readJson, writeJson, type ClusterState, type MonitoringMode } from './state.js';

/** The least-privilege role the exporter and `cluster top` log in as (member of `pg_monitor` only). */
export const MONITORING_ROLE = DEFAULT_MONITORING_ROLE;

/** Debian packages the monitoring component needs, by program. */
export const MONITORING_PROGRAMS: readonly { binary: string; pkg: string }[] = [
  { binary: 'prometheus', pkg: 'prometheus' },
  { binary: 'prometheus-postgres-exporter', pkg: 'prometheus-postgres-exporter' },
  { binary: 'prometheus-pgbouncer-exporter', pkg: 'prometheus-pgbouncer-exporter' },
];

/** Options of the monitoring component ({@link ClusterOptions.monitoring}). */
export interface MonitoringComponentOptions {
  /**
   * `auto` (a new cluster's default): on when the Debian packages are installed,
   * else skipped with the install command; `on` (`--monitoring`): required, `up`
   * fails first when a package is missing; `off` (`--no-monitoring`): not started
   * (a running stack is stopped). Given, it is saved; unset, the saved mode is used.
   */
  mode?: MonitoringMode;
  /** Extra targets Prometheus scrapes (`--scrape`); given, they replace the saved ones. */
  scrape?: readonly ScrapeTarget[];
  /** Scrape and rule interval (default: saved, else 15 s; tests use 1 s). */
  scrapeIntervalSeconds?: number;
  /** Program paths by Debian binary name (tests simulate a missing package). */
  programs?: Partial<Record<'prometheus' | 'prometheus-postgres-exporter' | 'prometheus-pgbouncer-exporter', string>>;
}

/** Where Prometheus and the dashboard are (or will be) served. */
export interface MonitoringUrls {
  readonly running: boolean;
  readonly prometheusUrl: string | undefined;
  readonly dashboardUrl: string | undefined;
}

const DASHBOARD_PATH = '/consoles/stellaops-postgres.html';
const PART_TLS: Record<string, string> = {
  'postgres-exporter': 'to PostgreSQL: verify-full',
  'pgbouncer-exporter': 'to PgBouncer: verify-full',
  prometheus: 'HTTP on 127.0.0.1 only',
};
const SCRAPE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Parses `--scrape name=host:port[/path]` items (repeatable; the same name
 * twice gives one job with two targets; `none` clears the saved ones). Hosts
 * must be loopback: Prometheus scrapes over plain HTTP on this machine only.
 * Throws {@link InvalidClusterInputError} naming each bad item.
 *
 * @example
 * ```ts
 * parseScrapeTargets(['stellaops-notify-worker=127.0.0.1:9464']);
 * // [{ job: 'stellaops-notify-worker', targets: ['127.0.0.1:9464'] }]
 * ```
 */
export function parseScrapeTargets(items: readonly string[]): ScrapeTarget[] {
  if (items.length === 1 && items[0] === 'none') return [];
  const jobs = new Map<string, ScrapeTarget>();
  const problems: string[] = [];
  const reserved = new Set<string>(Object.values(JOBS));
  for (const item of items) {
    const m = /^([^=]+)=(\[[^\]]+\]|[^:/]+):(\d{1,5})(\/[^\s]*)?$/.exec(item);
    if (!m) {
      problems.push(`--scrape "${item}" is not name=host:port[/path]. Fix: e.g. --scrape stellaops-notify-worker=127.0.0.1:9464`);
      continue;
    }
    const [, name, host, portText, path] = m as unknown as [string, string, string, string, string | undefined];
    const port = Number(portText);
    if (!SCRAPE_NAME.test(name))
      problems.push(
        `--scrape "${item}": the name "${name}" becomes the job label. Fix: lower-case letters, digits, - and _, starting with a letter.`,
      );
    else if (reserved.has(name))
      problems.push(
        `--scrape "${item}": the job name "${name}" is the monitoring stack's own. Fix: choose another name, e.g. stellaops-<service>.`,
      );
    if (!LOOPBACK_HOSTS.has(host))
      problems.push(
        `--scrape "${item}": ${host} is not loopback; Prometheus scrapes over plain HTTP on this machine only. Fix: 127.0.0.1:<port>.`,
      );
    if (port < 1 || port > 65535) problems.push(`--scrape "${item}": ${port} is not a TCP port. Fix: give 1-65535.`);
    const job = jobs.get(name) ?? { job: name, targets: [], ...(path ? { metricsPath: path } : {}) };
    if ((job.metricsPath ?? '/metrics') !== (path ?? '/metrics')) {
      problems.push(`--scrape "${item}": the job "${name}" already scrapes ${job.metricsPath ?? '/metrics'}. Fix: one path per name.`);
    }
    job.targets.push(`${host}:${port}`);
    jobs.set(name, job);
  }
  if (problems.length > 0) throw new InvalidClusterInputError(problems);
  return [...jobs.values()];
}

/** The monitoring role as the exporter and `cluster top` use it (direct, TLS verify-full with the cluster CA). */
export function monitoringTargets(ctx: Pick<ClusterContext, 'layout' | 'state' | 'secrets'>): {
  postgres: PostgresTarget;
  pgbouncer: PgBouncerTarget;
} {
  const password = ctx.secrets.roles[MONITORING_ROLE];
  const statsPassword = ctx.secrets.pgbouncer[PGBOUNCER_STATS];
  if (!password || !statsPassword) {
    throw new ClusterStateError(
      `The monitoring role ${MONITORING_ROLE} was not created in ${ctx.layout.root} yet. Fix: stella-db cluster up --monitoring`,
    );
  }
  const ca = ctx.layout.tls.caCert;
  return {
    postgres: { host: '127.0.0.1', port: ctx.state.ports.postgres, user: MONITORING_ROLE, password, database: DATABASE, sslrootcert: ca },
    pgbouncer: { host: '127.0.0.1', port: ctx.state.ports.pgbouncer, user: PGBOUNCER_STATS, password: statsPassword, sslrootcert: ca },
  };
}

/**
 * Prometheus' and the dashboard's URLs: those of the running stack, else the
 * ones it will have (its port is saved in cluster.json once allocated).
 *
 * @example
 * ```ts
 * monitoringUrls(await cluster.context()).dashboardUrl; // 'http://127.0.0.1:41234/consoles/stellaops-postgres.html'
 * ```
 */
export function monitoringUrls(ctx: Pick<ClusterContext, 'layout' | 'state'>): MonitoringUrls {
  const s = monitoringStatus(ctx.layout.monitoringDir);
  if (s.prometheusUrl) return { running: s.running, prometheusUrl: s.prometheusUrl, dashboardUrl: s.dashboardUrl };
  const port = ctx.state.ports.prometheus;
  if (port === undefined) return { running: false, prometheusUrl: undefined, dashboardUrl: undefined };
  const url = `http://127.0.0.1:${port}`;
  return { running: false, prometheusUrl: url, dashboardUrl: `${url}${DASHBOARD_PATH}` };
}

/**
 * The monitoring stack as a cluster component (issue 10): the least-privilege
 * role `stellaops_monitor` (`ensureMonitoringSetup`, password generated once
 * and kept in secrets.json), then `@stellaops/monitoring`'s postgres_exporter
 * (custom queries, TLS verify-full with the cluster CA), PgBouncer exporter
 * (PgBouncer's `stats_users` console user) and Prometheus with the rules and
 * the console dashboard, on ports from `ctx.allocatePort`, in `monitoring/`.
 * Its status lists each process; a crashed one is replaced by the next `up`.
 */
export class MonitoringComponent implements ClusterComponent {
  readonly name = 'monitoring';
  readonly #o: MonitoringComponentOptions;

  constructor(options: MonitoringComponentOptions = {}) {
    this.#o = options;
  }

  /** The mode in effect: the given one, else the saved one, else `auto`. */
  mode(state: ClusterState | undefined): MonitoringMode {
    return this.#o.mode ?? state?.monitoring?.mode ?? 'auto';
  }

  /** Program paths; missing ones are left out. */
  programs(): { found: Record<string, string>; missing: { binary: string; pkg: string }[] } {
    const found: Record<string, string> = {};
    const missing: { binary: string; pkg: string }[] = [];
    for (const p of MONITORING_PROGRAMS) {
      const path = findProgram(p.binary, this.#o.programs?.[p.binary as keyof NonNullable<MonitoringComponentOptions['programs']>]);
      if (path) found[p.binary] = path;
      else missing.push(p);
    }
    return { found, missing };
  }

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    const mode = this.mode(ctx.state);
    const saved = ctx.state.monitoring;
    const scrape = this.#o.scrape ? [...this.#o.scrape] : (saved?.scrape ?? []);
    const scrapeIntervalSeconds = this.#o.scrapeIntervalSeconds ?? saved?.scrapeIntervalSeconds ?? 15;
    const changed =
      JSON.stringify(saved?.scrape ?? []) !== JSON.stringify(scrape) || (saved?.scrapeIntervalSeconds ?? 15) !== scrapeIntervalSeconds;
    this.#save(ctx, { mode, scrape, scrapeIntervalSeconds });
    if (mode === 'off') {
      await stopMonitoring(ctx.layout.monitoringDir);
      return this.status(ctx);
    }
    const { found, missing } = this.programs();
    if (missing.length > 0) {
      // `on` was refused before anything started (Cluster.checkPrerequisites); `auto` skips
      ctx.progress(
        `monitoring skipped: ${missing.map((m) => m.pkg).join(', ')} not installed (apt-get install -y ${missing.map((m) => m.pkg).join(' ')})`,
      );
      return this.status(ctx);
    }
    await this.#ensureRole(ctx);
    const targets = monitoringTargets(ctx);
    const ports = {
      prometheus: await ctx.allocatePort('prometheus'),
      postgresExporter: await ctx.allocatePort('postgres-exporter'),
      pgbouncerExporter: await ctx.allocatePort('pgbouncer-exporter'),
    };
    if (changed) await stopMonitoring(ctx.layout.monitoringDir); // Prometheus' config changes: start it again
    ctx.progress(
      `starting monitoring (postgres_exporter :${ports.postgresExporter}, PgBouncer exporter :${ports.pgbouncerExporter}, Prometheus :${ports.prometheus})`,
    );
    try {
      await startMonitoring({
        dir: ctx.layout.monitoringDir,
        ...targets,
        extraScrapeTargets: scrape,
        ports,
        scrapeIntervalSeconds,
        clusterName: basename(ctx.layout.root),
        binaries: {
          prometheus: found.prometheus!,
          postgresExporter: found['prometheus-postgres-exporter']!,
          pgbouncerExporter: found['prometheus-pgbouncer-exporter']!,
        },
      });
    } catch (e) {
      const tail = e instanceof MonitoringStartError ? e.logTail : '';
      throw new ComponentError(this.name, `The monitoring stack did not start: ${(e as Error).message.split('\n')[0]}`, tail, { cause: e });
    }
    return this.status(ctx);
  }

  async stop(ctx: ClusterContext): Promise<void> {
    await stopMonitoring(ctx.layout.monitoringDir);
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const mode = this.mode(ctx.state);
    const s = monitoringStatus(ctx.layout.monitoringDir);
    const urls = monitoringUrls(ctx);
    const parts: ComponentStatus[] = s.components.map((c) => ({
      name: c.name,
      state: c.running ? 'running' : ctx.state.up ? 'crashed' : 'stopped',
      pid: c.pid,
      port: c.port,
      tls: PART_TLS[c.name] ?? '-',
      detail: c.running ? c.url : `not running; log: ${c.logFile}`,
    }));
    const data = { mode, prometheusUrl: urls.prometheusUrl, dashboardUrl: urls.dashboardUrl, scrape: ctx.state.monitoring?.scrape ?? [] };
    if (s.running) {
      return { name: this.name, state: 'running', port: ctx.state.ports.prometheus, detail: `dashboard ${urls.dashboardUrl}`, parts, data };
    }
    if (mode === 'off')
      return {
        name: this.name,
        state: 'disabled',
        detail: 'off (--no-monitoring); enable: stella-db cluster up --monitoring',
        parts,
        data,
      };
    const { missing } = this.programs();
    if (missing.length > 0 && s.components.length === 0) {
      return {
        name: this.name,
        state: 'disabled',
        detail: `packages missing: apt-get install -y ${missing.map((m) => m.pkg).join(' ')}`,
        data,
      };
    }
    if (ctx.state.up) {
      return {
        name: this.name,
        state: 'crashed',
        port: ctx.state.ports.prometheus,
        detail: `${
          parts
            .filter((p) => p.state === 'crashed')
            .map((p) => p.name)
            .join(', ') || 'not running'
        } although the cluster is up. Fix: stella-db cluster up`,
        parts,
        data,
      };
    }
    return { name: this.name, state: 'stopped', port: ctx.state.ports.prometheus, parts, data };
  }

  async #ensureRole(ctx: ClusterContext): Promise<void> {
    const fresh = ctx.secrets.roles[MONITORING_ROLE] === undefined;
    const password = (ctx.secrets.roles[MONITORING_ROLE] ??= newPassword());
    const admin = adminClient(ctx, DATABASE);
    try {
      await admin.connect();
      await ensureMonitoringSetup(admin, { password });
      await admin.query(`grant connect on database ${quoteIdentifier(DATABASE)} to ${quoteIdentifier(MONITORING_ROLE)}`);
    } catch (e) {
      if (fresh) delete ctx.secrets.roles[MONITORING_ROLE];
      throw new ComponentError(this.name, `Creating the monitoring role ${MONITORING_ROLE} failed: ${(e as Error).message}`, '', {
        cause: e,
      });
    } finally {
      await admin.end().catch(() => undefined);
    }
    if (fresh) ctx.saveSecrets(); // only once the role has it
  }

  #save(ctx: ClusterContext, monitoring: NonNullable<ClusterState['monitoring']>): void {
    ctx.state.monitoring = monitoring;
    const file = ctx.layout.stateFile;
    const onDisk = readJson<ClusterState>(file, "the cluster's ports and settings");
    writeJson(file, { ...(onDisk ?? ctx.state), monitoring }, 0o644);
  }
}
