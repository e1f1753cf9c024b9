import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { MONITORING_ASSETS, readQueriesFile } from './assets.js';
import { MonitoringConfigError } from './errors.js';
import { renderGrafanaDashboard } from './grafana.js';
import { JOBS } from './prometheus-config.js';

/** Options of {@link renderMonitoringManifests}. */
export interface MonitoringManifestOptions {
  /** Name of the CloudNativePG `Cluster`. */
  clusterName: string;
  namespace: string;
  /** Name of the CNPG `Pooler` (PgBouncer); no pooler PodMonitor without it. */
  poolerName?: string;
  /**
   * The Pooler's `default_pool_size`. CNPG's PgBouncer exporter does not export
   * pool sizes (it reads SHOW LISTS/POOLS/STATS only), so with this set a
   * recording rule provides `pgbouncer_pool_size` for the pool-saturation alert
   * and the dashboard; without it that alert cannot fire in staging.
   */
  poolerPoolSize?: number;
  /** The Pooler's `max_client_conn`, recorded as `pgbouncer_config_max_client_conn` (CNPG does not export it) for the client-saturation alert. */
  poolerMaxClientConn?: number;
  /** Extra labels on every object (e.g. the Prometheus operator's rule/monitor selector). */
  labels?: Record<string, string>;
}

/** A Kubernetes object as plain data, ready for YAML. */
export type KubernetesObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
} & Record<string, unknown>;

/** What {@link renderMonitoringManifests} returns. */
export interface MonitoringManifests {
  /** ConfigMap, PodMonitor(s), PrometheusRule and the Grafana dashboard ConfigMap. */
  objects: KubernetesObject[];
  /** Merge into the CNPG `Cluster`'s `spec.monitoring`. */
  clusterMonitoring: { customQueriesConfigMap: { name: string; key: string }[]; disableDefaultQueries: boolean };
}

/** Key of the queries in the ConfigMap. */
export const QUERIES_CONFIGMAP_KEY = 'queries';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * CloudNativePG's pgbouncer metric names → the names of Debian's exporter (with
 * this package's shim) that the rules and dashboards read, so staging and the
 * local stack share them.
 */
export const CNPG_PGBOUNCER_RENAMES: Readonly<Record<string, string>> = {
  cnpg_pgbouncer_pools_cl_active: 'pgbouncer_active_clients',
  cnpg_pgbouncer_pools_cl_waiting: 'pgbouncer_waiting_clients',
  cnpg_pgbouncer_pools_sv_active: 'pgbouncer_server_active_connections',
  cnpg_pgbouncer_pools_sv_idle: 'pgbouncer_server_idle_connections',
  cnpg_pgbouncer_pools_sv_used: 'pgbouncer_server_used_connections',
  cnpg_pgbouncer_pools_maxwait: 'pgbouncer_max_wait_seconds',
  cnpg_pgbouncer_pools_maxwait_us: 'pgbouncer_max_wait_microseconds_part',
  cnpg_pgbouncer_lists_used_servers: 'pgbouncer_used_servers',
  cnpg_pgbouncer_lists_free_servers: 'pgbouncer_free_servers',
  cnpg_pgbouncer_lists_used_clients: 'pgbouncer_used_clients',
};

function relabelJob(job: string) {
  return [{ action: 'replace', targetLabel: 'job', replacement: job }];
}

/**
 * The staging (CloudNativePG) side of monitoring, as objects for the cluster's
 * manifest renderer:
 *
 * - ConfigMap `<cluster>-monitoring-queries` whose `queries` key is exactly
 *   `assets/queries.yaml` (CNPG reads the postgres_exporter format), referenced
 *   from `clusterMonitoring` → `Cluster.spec.monitoring.customQueriesConfigMap`;
 * - PodMonitor for the instances (and the Pooler) that strips CNPG's `cnpg_`
 *   prefix from the `stellaops_*` metrics, maps `cnpg_collector_up` to `pg_up`,
 *   renames the pooler metrics ({@link CNPG_PGBOUNCER_RENAMES}) and sets the
 *   `job` labels, so the same rules and dashboards work unchanged;
 * - PrometheusRule with `assets/rules/stellaops-postgres.rules.yml` (plus, with
 *   `poolerPoolSize`/`poolerMaxClientConn`, recording rules for the pooler
 *   settings CNPG does not export);
 * - ConfigMap with the Grafana dashboard (label `grafana_dashboard: "1"`, the
 *   Grafana sidecar's convention).
 *
 * @example
 * ```ts
 * const { objects, clusterMonitoring } = renderMonitoringManifests({ clusterName: 'stellaops-pg', namespace: 'stellaops', poolerName: 'stellaops-pg-rw' });
 * cluster.spec.monitoring = { ...cluster.spec.monitoring, ...clusterMonitoring };
 * ```
 */
export function renderMonitoringManifests(options: MonitoringManifestOptions): MonitoringManifests {
  const problems: string[] = [];
  for (const [k, v] of [
    ['clusterName', options.clusterName],
    ['namespace', options.namespace],
    ['poolerName', options.poolerName],
  ] as const) {
    if (v !== undefined && !DNS_LABEL.test(v))
      problems.push(`${k} "${v}" must be a DNS label (lower-case letters, digits, -; at most 63).`);
    if (v === undefined && k !== 'poolerName') problems.push(`${k} is required.`);
  }
  const size = options.poolerPoolSize;
  const maxClients = options.poolerMaxClientConn;
  for (const [k, v] of [
    ['poolerPoolSize', size],
    ['poolerMaxClientConn', maxClients],
  ] as const) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) problems.push(`${k} ${v} must be a positive integer (the Pooler's setting).`);
    if (!options.poolerName) problems.push(`${k} needs poolerName.`);
  }
  if (problems.length) throw new MonitoringConfigError(problems);
  const { clusterName, namespace, poolerName } = options;
  const rules = parse(readFileSync(MONITORING_ASSETS.rules, 'utf8')) as { groups: Record<string, unknown>[] };
  const poolerRules: { record: string; expr: string }[] = [];
  if (size !== undefined)
    poolerRules.push({
      record: 'pgbouncer_pool_size',
      expr: `max without (user) (pgbouncer_active_clients{job="${JOBS.pgbouncer}"}) * 0 + ${size}`,
    });
  if (maxClients !== undefined)
    poolerRules.push({
      record: 'pgbouncer_config_max_client_conn',
      expr: `pgbouncer_used_clients{job="${JOBS.pgbouncer}"} * 0 + ${maxClients}`,
    });
  if (poolerRules.length) rules.groups.unshift({ name: 'stellaops-cnpg-pooler', rules: poolerRules });
  const labels = { 'app.kubernetes.io/part-of': 'stellaops', 'app.kubernetes.io/component': 'monitoring', ...options.labels };
  const meta = (name: string, extra: Record<string, string> = {}) => ({ name, namespace, labels: { ...labels, ...extra } });
  const queriesName = `${clusterName}-monitoring-queries`;

  const objects: KubernetesObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      // CNPG only watches ConfigMaps with this label for changes
      metadata: meta(queriesName, { 'cnpg.io/reload': '' }),
      data: { [QUERIES_CONFIGMAP_KEY]: readQueriesFile() },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: meta(clusterName),
      spec: {
        selector: { matchLabels: { 'cnpg.io/cluster': clusterName, 'cnpg.io/podRole': 'instance' } },
        podMetricsEndpoints: [
          {
            port: 'metrics',
            relabelings: relabelJob(JOBS.postgres),
            metricRelabelings: [
              { action: 'replace', sourceLabels: ['__name__'], regex: 'cnpg_(stellaops_.+)', targetLabel: '__name__', replacement: '$1' },
              { action: 'replace', sourceLabels: ['__name__'], regex: 'cnpg_collector_up', targetLabel: '__name__', replacement: 'pg_up' },
            ],
          },
        ],
      },
    },
  ];
  if (poolerName) {
    objects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: meta(`${poolerName}-pooler`),
      spec: {
        selector: { matchLabels: { 'cnpg.io/poolerName': poolerName } },
        podMetricsEndpoints: [
          {
            port: 'metrics',
            relabelings: relabelJob(JOBS.pgbouncer),
            metricRelabelings: Object.entries(CNPG_PGBOUNCER_RENAMES).map(([from, to]) => ({
              action: 'replace',
              sourceLabels: ['__name__'],
              regex: from,
              targetLabel: '__name__',
              replacement: to,
            })),
          },
        ],
      },
    });
  }
  objects.push(
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: meta(`${clusterName}-rules`),
      spec: rules,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(`${clusterName}-grafana-dashboard`, { grafana_dashboard: '1' }),
      data: { 'stellaops-postgres.json': `${JSON.stringify(renderGrafanaDashboard(), null, 2)}\n` },
    },
  );
  return {
    objects,
    clusterMonitoring: { customQueriesConfigMap: [{ name: queriesName, key: QUERIES_CONFIGMAP_KEY }], disableDefaultQueries: false },
  };
}
