import { stringify } from 'yaml';
import { renderMonitoringManifests } from '@stellaops/monitoring';
import { DATABASE } from './postgres-component.js';
import { APP_ROLE, OWNER_ROLE } from './roles-component.js';
import { formatMemory } from './memory.js';
import { poolerResetSettings } from './pgbouncer-component.js';
import type { PoolerReset } from './state.js';
import { settingsMap, type ClusterSettings } from './settings.js';
import { InvalidClusterInputError } from './errors.js';

/** PostgreSQL image of the staging cluster: the same major and minor as the embedded binaries. */
export const STAGING_IMAGE = 'ghcr.io/cloudnative-pg/postgresql:16.14';

/** Input of {@link renderManifests}. */
export interface ManifestOptions {
  /** Target environment (`staging`): names the namespace and labels. */
  env: string;
  /** Settings computed for the target's memory ({@link computeSettings} without a layout). */
  settings: ClusterSettings;
  /** PostgreSQL instances: 1 = single primary; more = streaming replicas. */
  instances?: number;
  /** Roles the modules' migrations grant to (declared like the app role, passwords from secrets). */
  moduleRoles?: readonly string[];
  /** PgBouncer's reset after each transaction (default `driver`; see {@link PoolerReset}). */
  poolerReset?: PoolerReset;
  /** Data volume size (default 50Gi) and WAL volume size (default 10Gi). */
  storageSize?: string;
  walStorageSize?: string;
}

/** One rendered file. */
export interface RenderedManifest {
  /** File name inside the output folder. */
  readonly file: string;
  readonly text: string;
  /** The documents, for validation. */
  readonly documents: readonly Record<string, unknown>[];
}

const NAME = 'stellaops-db';

/**
 * Renders the CloudNativePG resources for an environment from the same
 * settings code as the local cluster: a `Cluster` (PostgreSQL 16, the
 * portable settings as `postgresql.parameters`, pg_stat_statements, TLS-only
 * pg_hba, declared roles with password secrets that the repository never
 * contains), a `Pooler` (PgBouncer, transaction mode, 500 clients, the same
 * cap and reset query) and @stellaops/monitoring's objects (custom queries
 * ConfigMap referenced from `Cluster.spec.monitoring`, PodMonitors for both,
 * PrometheusRule, Grafana dashboard ConfigMap). Deterministic:
 * the same input renders the same bytes.
 *
 * @example
 * ```ts
 * const files = renderManifests({ env: 'staging', settings: computeSettings({ memoryBytes: parseMemory('64GiB') }) });
 * for (const f of files) writeFileSync(join('deploy/staging', f.file), f.text);
 * ```
 */
export function renderManifests(options: ManifestOptions): RenderedManifest[] {
  const { env, settings } = options;
  const instances = options.instances ?? 1;
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(env))
    problems.push(`--env "${env}" is not a valid environment name. Fix: lower-case letters, digits and dashes, e.g. --env staging.`);
  if (!Number.isInteger(instances) || instances < 1 || instances > 9)
    problems.push(`--instances ${instances} is out of range. Fix: 1 (single primary) to 9.`);
  if (problems.length > 0) throw new InvalidClusterInputError(problems);
  const namespace = `stellaops-${env}`;
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'stellaops', 'stellaops.io/environment': env };
  const parameters = settingsMap(settings.postgres, 'portable');
  const memory = formatMemory(settings.memoryBytes).replace(/iB$/, 'i');
  const roles = [APP_ROLE, ...(options.moduleRoles ?? []).filter((r) => r !== APP_ROLE && r !== OWNER_ROLE)];
  const header = (what: string) =>
    `# ${what}\n# Rendered by "stella-db cluster manifests --env ${env} --memory ${formatMemory(settings.memoryBytes)}${instances !== 1 ? ` --instances ${instances}` : ''}"; do not edit by hand.\n` +
    '# Secrets are referenced by name only; they are created in the namespace, never committed.\n';

  const p = settings.pool;
  const poolerName = `${NAME}-pooler-rw`;
  // @stellaops/monitoring's queries ConfigMap, PodMonitors, PrometheusRule and Grafana dashboard
  const monitoring = renderMonitoringManifests({
    clusterName: NAME,
    namespace,
    poolerName,
    poolerPoolSize: p.defaultPoolSize,
    poolerMaxClientConn: p.maxClientConn,
    labels,
  });
  const cluster = {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: NAME, namespace, labels },
    spec: {
      description: `StellaOps PostgreSQL 16 (${env})`,
      imageName: STAGING_IMAGE,
      instances,
      primaryUpdateStrategy: 'unsupervised',
      postgresql: {
        parameters,
        pg_hba: ['hostnossl all all 0.0.0.0/0 reject', 'hostnossl all all ::/0 reject', 'hostssl all all all scram-sha-256'],
      },
      bootstrap: {
        initdb: {
          database: DATABASE,
          owner: OWNER_ROLE,
          secret: { name: `${NAME}-owner` },
          postInitApplicationSQL: ['create extension if not exists pg_stat_statements'],
        },
      },
      managed: {
        roles: roles.map((name) => ({
          name,
          ensure: 'present',
          login: true,
          superuser: false,
          bypassrls: false,
          createdb: false,
          createrole: false,
          replication: false,
          inherit: true,
          passwordSecret: { name: `${NAME}-${name.replace(/_/g, '-')}` },
        })),
      },
      certificates: {
        serverAltDNSNames: [`${NAME}-pooler-rw`, `${NAME}-pooler-rw.${namespace}`, `${NAME}-pooler-rw.${namespace}.svc`],
      },
      storage: { size: options.storageSize ?? '50Gi' },
      walStorage: { size: options.walStorageSize ?? '10Gi' },
      resources: { requests: { memory, cpu: '2' }, limits: { memory } },
      monitoring: { ...monitoring.clusterMonitoring },
    },
  };

  const pooler = {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Pooler',
    metadata: { name: poolerName, namespace, labels },
    spec: {
      cluster: { name: NAME },
      instances: 2,
      type: 'rw',
      pgbouncer: {
        poolMode: 'transaction',
        parameters: {
          max_client_conn: String(p.maxClientConn),
          default_pool_size: String(p.defaultPoolSize),
          max_db_connections: String(p.maxDbConnections),
          reserve_pool_size: '0',
          ...Object.fromEntries(poolerResetSettings(options.poolerReset ?? 'driver').map((r) => [r.name, r.value])),
          ignore_startup_parameters: 'extra_float_digits',
        },
      },
    },
  };

  // every string value double-quoted: Kubernetes' YAML 1.1 parser would read a bare `on` as a boolean
  const doc = (d: Record<string, unknown>) =>
    stringify(d, { lineWidth: 0, sortMapEntries: false, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
  const file = (name: string, what: string, docs: Record<string, unknown>[]): RenderedManifest => ({
    file: name,
    text: header(what) + docs.map(doc).join('---\n'),
    documents: docs,
  });
  return [
    file(
      'cluster.yaml',
      `CloudNativePG Cluster: PostgreSQL 16, ${instances} instance(s), settings for ${formatMemory(settings.memoryBytes)} RAM`,
      [cluster],
    ),
    file(
      'pooler.yaml',
      `CloudNativePG Pooler: PgBouncer, transaction mode, ${p.maxClientConn} clients, ${p.maxDbConnections} server connections`,
      [pooler],
    ),
    file(
      'monitoring.yaml',
      'Monitoring (@stellaops/monitoring): custom queries ConfigMap (Cluster.spec.monitoring), PodMonitors for the instances and the pooler (Prometheus Operator), alert/recording rules (PrometheusRule), Grafana dashboard ConfigMap',
      monitoring.objects,
    ),
  ];
}
