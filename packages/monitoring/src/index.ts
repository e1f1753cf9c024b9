/**
 * `@stellaops/monitoring`: the monitoring stack of the StellaOps PostgreSQL
 * cluster — postgres_exporter with this package's custom queries, the PgBouncer
 * exporter, Prometheus with recording/alert rules and the console dashboard
 * `/consoles/stellaops-postgres.html` — plus the least-privilege monitoring
 * role's SQL.
 *
 * @example
 * ```ts
 * await ensureMonitoringSetup(superuserClient, { password: monitorPassword });
 * const m = await startMonitoring({ dir, postgres: { host, port, user: 'stellaops_monitor', password: monitorPassword, database: 'postgres', sslrootcert },
 *   pgbouncer: { host, port: bouncerPort, user: 'stellaops_stats', password: statsPassword, sslrootcert } });
 * console.log(m.dashboardUrl);
 * ```
 *
 * @packageDocumentation
 */
export { MONITORING_ASSETS, readQueriesFile } from './assets.js';
export { MonitoringConfigError, MonitoringError, MonitoringStartError } from './errors.js';
export {
  DEFAULT_MONITORING_ROLE,
  MONITORING_SCHEMA,
  ensureMonitoringSetup,
  monitoringSetupStatements,
  scramSha256Verifier,
  type MonitoringSetupOptions,
  type SqlRunner,
} from './monitoring-role.js';
export { JOBS, renderPrometheusConfig, type PrometheusConfigInput, type ScrapeTarget } from './prometheus-config.js';
export {
  CONSOLE_LIBRARY_DIRS,
  DEFAULT_BINARIES,
  monitoringStatus,
  startMonitoring,
  stopMonitoring,
  type MonitoringBinaries,
  type MonitoringComponentStatus,
  type MonitoringHandle,
  type MonitoringOptions,
  type MonitoringStatus,
  type PgBouncerTarget,
  type PostgresTarget,
} from './start-monitoring.js';
export {
  collectTop,
  renderTop,
  type CollectTopOptions,
  type RenderTopOptions,
  type TopPool,
  type TopSnapshot,
  type TopStatement,
} from './top.js';
export { DASHBOARD_PANELS, type DashboardPanel, type PanelSeries } from './panels.js';
export { renderGrafanaDashboard, TOP_STATEMENTS_TABLE_EXPR } from './grafana.js';
export {
  CNPG_PGBOUNCER_RENAMES,
  QUERIES_CONFIGMAP_KEY,
  renderMonitoringManifests,
  type KubernetesObject,
  type MonitoringManifestOptions,
  type MonitoringManifests,
} from './kubernetes.js';
