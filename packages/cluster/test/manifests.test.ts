import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { computeSettings, parseMemory, renderManifests, settingsMap } from '../src/index.js';

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
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

function validator(crdFile: string): ValidateFunction {
  const crd = parse(readFileSync(join(CRDS, crdFile), 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
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
    expect(pooler).toMatchObject({ kind: 'Pooler', spec: { type: 'rw', pgbouncer: { poolMode: 'transaction', parameters: { max_client_conn: '500' } } } });
    expect(errorsOf(validatePooler, pooler)).toEqual([]);
  });

  it('the strict check catches a misspelt field and a wrong type', () => {
    const [cluster] = committed('cluster.yaml') as [{ spec: Record<string, unknown> }];
    expect(errorsOf(validateCluster, { ...cluster, spec: { ...cluster.spec, instance: 2 } }).join()).toMatch(/must NOT have additional properties.*instance/);
    expect(errorsOf(validateCluster, { ...cluster, spec: { ...cluster.spec, instances: 'two' } }).join()).toMatch(/instances must be integer/);
    const [pooler] = committed('pooler.yaml') as [{ spec: Record<string, unknown> }];
    expect(errorsOf(validatePooler, { ...pooler, spec: { ...pooler.spec, pgbouncer: { poolMode: 'statement-ish' } } }).join()).toMatch(/poolMode must be equal to one of the allowed values/);
  });

  it('carries the same settings as the local cluster (portable ones) and only secret references', () => {
    const [cluster] = committed('cluster.yaml') as [{ spec: { postgresql: { parameters: Record<string, string> }; resources: { limits: { memory: string } } } }];
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
    const cluster = a.find((f) => f.file === 'cluster.yaml')!.documents[0] as { spec: { instances: number; postgresql: { parameters: Record<string, string> } } };
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.postgresql.parameters.shared_buffers).toBe('16GB');
    expect(errorsOf(validateCluster, cluster)).toEqual([]);
    expect(() => renderManifests({ env: 'Staging!', settings })).toThrow(/--env "Staging!" is not a valid environment name/);
    expect(() => renderManifests({ env: 'staging', settings, instances: 0 })).toThrow(/--instances 0 is out of range/);
  });
});
