import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { computeSettings, parseMemory, POOLER_RESET_MODES, poolerResetSettings, renderManifests, settingsMap } from '../src/index.js';

const CRDS = join(import.meta.dirname, 'crds', 'cloudnative-pg-v1.30.0');
const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy', 'staging');

type Schema = Record<string, unknown>;

/**
 * Kubernetes prunes unknown fields instead of rejecting them; `kubectl apply
 * --validate=strict` rejects them. Do the same: every object schema with
 * `properties` and no `x-kubernetes-preserve-unknown-fields` gets
 * `additionalProperties: false`.
 */
function strict(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, s]) => [p, strict(s)]));
    } else if ((k === 'items' || k === 'additionalProperties') && v && typeof v === 'object') {
      out[k] = strict(v as Schema);
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = v.map((s) => strict(s as Schema));
    } else {
      out[k] = v;
    }
  }
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true)
    out.additionalProperties = false;
  return out;
}

function validator(crdFile: string): ValidateFunction {
  const crd = parse(readFileSync(join(CRDS, crdFile), 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  const v1 = crd.spec.versions.find((v) => v.name === 'v1')!;
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  return ajv.compile(strict(v1.schema.openAPIV3Schema));
}

const validateCluster = validator('postgresql.cnpg.io_clusters.yaml');
const validatePooler = validator('postgresql.cnpg.io_poolers.yaml');

function committed(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

function errorsOf(v: ValidateFunction, doc: unknown): string[] {
  return v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

describe('staging manifests (deploy/staging) against the CloudNativePG v1.30.0 CRD schemas', () => {
  it('the Cluster validates', () => {
    const [cluster] = committed('cluster.yaml');
    expect(cluster).toMatchObject({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster' });
    expect(errorsOf(validateCluster, cluster)).toEqual([]);
  });

  it('the Pooler validates', () => {
    const [pooler] = committed('pooler.yaml');
    expect(pooler).toMatchObject({
      kind: 'Pooler',
      spec: { type: 'rw', pgbouncer: { poolMode: 'transaction', parameters: { max_client_conn: '500' } } },
    });
    expect(errorsOf(validatePooler, pooler)).toEqual([]);
  });

  it('the strict check catches a misspelt field and a wrong type', () => {
    const [cluster] = committed('cluster.yaml') as [{ spec: Record<string, unknown> }];
    expect(errorsOf(validateCluster, { ...cluster, spec: { ...cluster.spec, instance: 2 } }).join()).toMatch(
      /must NOT have additional properties.*instance/,
    );
    expect(errorsOf(validateCluster, { ...cluster, spec: { ...cluster.spec, instances: 'two' } }).join()).toMatch(
      /instances must be integer/,
    );
    const [pooler] = committed('pooler.yaml') as [{ spec: Record<string, unknown> }];
    expect(errorsOf(validatePooler, { ...pooler, spec: { ...pooler.spec, pgbouncer: { poolMode: 'statement-ish' } } }).join()).toMatch(
      /poolMode must be equal to one of the allowed values/,
    );
  });

  it('carries the same settings as the local cluster (portable ones) and only secret references', () => {
    const [cluster] = committed('cluster.yaml') as [
      { spec: { postgresql: { parameters: Record<string, string> }; resources: { limits: { memory: string } } } },
    ];
    const memory = parseMemory(cluster.spec.resources.limits.memory.replace(/i$/, 'iB'));
    expect(cluster.spec.postgresql.parameters).toEqual(settingsMap(computeSettings({ memoryBytes: memory }).postgres, 'portable'));
    const text = ['cluster.yaml', 'pooler.yaml', 'monitoring.yaml'].map((f) => readFileSync(join(DEPLOY, f), 'utf8')).join('\n');
    expect(text).not.toMatch(/password:|stringData|kind: "?Secret/i);
    expect(text).toMatch(/passwordSecret:/);
  });

  it('renders deterministically, with instances settable', () => {
    const settings = computeSettings({ memoryBytes: parseMemory('64GiB') });
    const a = renderManifests({ env: 'staging', settings, instances: 3 });
    expect(renderManifests({ env: 'staging', settings, instances: 3 }).map((f) => f.text)).toEqual(a.map((f) => f.text));
    const cluster = a.find((f) => f.file === 'cluster.yaml')!.documents[0] as {
      spec: { instances: number; postgresql: { parameters: Record<string, string> } };
    };
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.postgresql.parameters.shared_buffers).toBe('16GB');
    expect(errorsOf(validateCluster, cluster)).toEqual([]);
    expect(() => renderManifests({ env: 'Staging!', settings })).toThrow(/--env "Staging!" is not a valid environment name/);
    expect(() => renderManifests({ env: 'staging', settings, instances: 0 })).toThrow(/--instances 0 is out of range/);
  });

  it("declares PgBouncer's reset from the same code as the local cluster's pgbouncer.ini (--pooler-reset)", () => {
    const settings = computeSettings({ memoryBytes: parseMemory('16GiB') });
    const params = (poolerReset?: 'driver' | 'always') =>
      (
        renderManifests({ env: 'staging', settings, ...(poolerReset ? { poolerReset } : {}) }).find((f) => f.file === 'pooler.yaml')!
          .documents[0] as { spec: { pgbouncer: { parameters: Record<string, string> } } }
      ).spec.pgbouncer.parameters;
    expect(params()).toMatchObject({ server_reset_query: 'DISCARD ALL', server_reset_query_always: '0' });
    expect(params('always')).toMatchObject({ server_reset_query: 'DISCARD ALL', server_reset_query_always: '1' });
    for (const mode of POOLER_RESET_MODES) {
      expect(Object.fromEntries(poolerResetSettings(mode).map((r) => [r.name, r.value]))).toEqual({
        server_reset_query: params(mode).server_reset_query,
        server_reset_query_always: params(mode).server_reset_query_always,
      });
    }
  });
});

/**
 * The Prometheus Operator's CRDs are not vendored here: PodMonitor and
 * PrometheusRule are checked against a minimal schema of our own, written from
 * the operator's CRDs (prometheus-operator/prometheus-operator,
 * example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml at
 * operator 0.87.0, commit 0ff52b38b82db983c210eae0147d7d675a23ca70, and
 * monitoring.coreos.com_prometheusrules.yaml at 0.76.0, commit
 * 2de7fa35f1dae33ca3dfc392b27dbf06a93d5c4d): only the fields we render, with
 * their types, enums and patterns, strict about unknown fields.
 */
const DURATION = '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';
const LABEL_NAME = '^[a-zA-Z_][a-zA-Z0-9_]*$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const metadata = {
  type: 'object',
  required: ['name', 'namespace'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    namespace: { type: 'string' },
    labels: stringMap,
  },
};
const relabel = {
  type: 'object',
  additionalProperties: false,
  properties: {
    action: {
      enum: [
        'replace',
        'Replace',
        'keep',
        'Keep',
        'drop',
        'Drop',
        'hashmod',
        'HashMod',
        'labelmap',
        'LabelMap',
        'labeldrop',
        'LabelDrop',
        'labelkeep',
        'LabelKeep',
        'lowercase',
        'Lowercase',
        'uppercase',
        'Uppercase',
        'keepequal',
        'KeepEqual',
        'dropequal',
        'DropEqual',
      ],
    },
    modulus: { type: 'integer' },
    regex: { type: 'string' },
    replacement: { type: 'string' },
    separator: { type: 'string' },
    sourceLabels: { type: 'array', items: { type: 'string', pattern: LABEL_NAME } },
    targetLabel: { type: 'string' },
  },
};
const podMonitorSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'PodMonitor' },
    metadata,
    spec: {
      type: 'object',
      required: ['selector'],
      additionalProperties: false,
      properties: {
        jobLabel: { type: 'string' },
        namespaceSelector: {
          type: 'object',
          additionalProperties: false,
          properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
        },
        selector: { type: 'object', additionalProperties: false, properties: { matchLabels: stringMap } },
        podMetricsEndpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              port: { type: 'string' },
              path: { type: 'string' },
              interval: { type: 'string', pattern: DURATION },
              scheme: { enum: ['http', 'https', 'HTTP', 'HTTPS'] },
              relabelings: { type: 'array', items: relabel },
              metricRelabelings: { type: 'array', items: relabel },
            },
          },
        },
      },
    },
  },
};
const prometheusRuleSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'PrometheusRule' },
    metadata,
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        groups: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 },
              interval: { type: 'string', pattern: DURATION },
              limit: { type: 'integer' },
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['expr'],
                  additionalProperties: false,
                  oneOf: [{ required: ['record'] }, { required: ['alert'] }],
                  properties: {
                    alert: { type: 'string' },
                    record: { type: 'string' },
                    expr: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
                    for: { type: 'string', pattern: DURATION },
                    keep_firing_for: { type: 'string', minLength: 1, pattern: DURATION },
                    labels: stringMap,
                    annotations: stringMap,
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
const configMapSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'data'],
  additionalProperties: false,
  properties: { apiVersion: { const: 'v1' }, kind: { const: 'ConfigMap' }, metadata, data: stringMap },
};
const ajvMon = new Ajv({ strict: false, allErrors: true });
const validatePodMonitor = ajvMon.compile(podMonitorSchema);
const validatePrometheusRule = ajvMon.compile(prometheusRuleSchema);
const validateConfigMap = ajvMon.compile(configMapSchema);

describe('staging monitoring manifests (@stellaops/monitoring in deploy/staging/monitoring.yaml)', () => {
  const docs = committed('monitoring.yaml') as { kind: string; metadata: { name: string }; data?: Record<string, string> }[];
  const byKind = (k: string) => docs.filter((d) => d.kind === k);

  it('holds the queries ConfigMap, both PodMonitors, the PrometheusRule and the Grafana dashboard, each valid', () => {
    expect(byKind('PodMonitor').map((d) => d.metadata.name)).toEqual(['stellaops-db', 'stellaops-db-pooler-rw-pooler']);
    expect(byKind('PrometheusRule')).toHaveLength(1);
    expect(byKind('ConfigMap').map((d) => d.metadata.name)).toEqual(['stellaops-db-monitoring-queries', 'stellaops-db-grafana-dashboard']);
    for (const d of byKind('PodMonitor')) expect(errorsOf(validatePodMonitor, d)).toEqual([]);
    for (const d of byKind('PrometheusRule')) expect(errorsOf(validatePrometheusRule, d)).toEqual([]);
    for (const d of byKind('ConfigMap')) expect(errorsOf(validateConfigMap, d)).toEqual([]);
    expect(JSON.parse(byKind('ConfigMap')[1]!.data!['stellaops-postgres.json']!)).toMatchObject({ panels: expect.any(Array) });
  });

  it('the Cluster reads the custom queries from that ConfigMap (clusterMonitoring merged), and the rules know the pooler limits', () => {
    const [cluster] = committed('cluster.yaml') as [{ spec: { monitoring: { customQueriesConfigMap: { name: string; key: string }[] } } }];
    const [ref] = cluster.spec.monitoring.customQueriesConfigMap;
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === ref!.name);
    expect(cm?.data?.[ref!.key]).toMatch(/stellaops_pg_statements/);
    const rule = JSON.stringify(byKind('PrometheusRule')[0]);
    const settings = computeSettings({ memoryBytes: parseMemory('16GiB') });
    expect(rule).toContain(`+ ${settings.pool.defaultPoolSize}`);
    expect(rule).toContain(`+ ${settings.pool.maxClientConn}`);
  });

  it('the minimal schemas reject a misspelt field, a bad relabel action and a rule without expr', () => {
    const [pm] = byKind('PodMonitor') as unknown as [{ spec: { podMetricsEndpoints: Record<string, unknown>[] } }];
    expect(errorsOf(validatePodMonitor, { ...pm, spec: { ...pm.spec, podMetricEndpoints: [] } }).join()).toMatch(/additional properties/);
    const ep = pm.spec.podMetricsEndpoints[0]!;
    expect(
      errorsOf(validatePodMonitor, {
        ...pm,
        spec: { ...pm.spec, podMetricsEndpoints: [{ ...ep, relabelings: [{ action: 'rename' }] }] },
      }).join(),
    ).toMatch(/allowed values/);
    const [pr] = byKind('PrometheusRule') as unknown as [Record<string, unknown>];
    expect(errorsOf(validatePrometheusRule, { ...pr, spec: { groups: [{ name: 'x', rules: [{ alert: 'A' }] }] } }).join()).toMatch(
      /required property 'expr'/,
    );
  });
});
