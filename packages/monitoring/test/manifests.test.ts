/**
 * Staging assets: the CloudNativePG monitoring manifests carry exactly the
 * repository's queries and rules, their relabelings give the rules' metric
 * names, and the Grafana dashboard and console template show the same panels.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, accessSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  CNPG_PGBOUNCER_RENAMES,
  DASHBOARD_PANELS,
  MONITORING_ASSETS,
  MonitoringConfigError,
  renderGrafanaDashboard,
  renderMonitoringManifests,
  TOP_STATEMENTS_TABLE_EXPR,
} from '../src/index.js';

const render = () =>
  renderMonitoringManifests({
    clusterName: 'stellaops-pg',
    namespace: 'stellaops',
    poolerName: 'stellaops-pg-rw',
    labels: { release: 'kube-prometheus' },
  });
const byKind = (kind: string) => render().objects.filter((o) => o.kind === kind);

/** Prometheus' `replace` relabeling of __name__ (regex anchored at both ends). */
function relabel(name: string, rules: { regex: string; replacement: string }[]): string {
  for (const r of rules) {
    const m = new RegExp(`^(?:${r.regex})$`).exec(name);
    if (m) name = r.replacement.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');
  }
  return name;
}

/** Every metric name the rules, the console and the Grafana dashboard read. */
function metricNamesUsed(): Set<string> {
  const text = [
    readFileSync(MONITORING_ASSETS.rules, 'utf8'),
    readFileSync(MONITORING_ASSETS.console, 'utf8'),
    readFileSync(MONITORING_ASSETS.grafanaDashboard, 'utf8'),
  ].join('\n');
  return new Set(
    (text.match(/(?<![:\w])(?:stellaops_[a-z0-9_]+|pgbouncer_[a-z0-9_]+|pg_up)(?![:\w])/g) ?? []).filter(
      (n) => !n.startsWith('stellaops_monitoring') && !n.startsWith('stellaops_obs'),
    ),
  );
}

describe('renderMonitoringManifests', () => {
  it('the queries ConfigMap carries exactly the repository queries file, referenced from the Cluster spec', () => {
    const { objects, clusterMonitoring } = render();
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'stellaops-pg-monitoring-queries') as {
      data: Record<string, string>;
    } & (typeof objects)[number];
    expect(cm).toBeDefined();
    expect(cm.metadata).toMatchObject({ namespace: 'stellaops', labels: { 'cnpg.io/reload': '', release: 'kube-prometheus' } });
    expect(cm.data.queries).toBe(readFileSync(MONITORING_ASSETS.queries, 'utf8'));
    expect(Object.keys(cm.data)).toEqual(['queries']);
    expect(clusterMonitoring.customQueriesConfigMap).toEqual([{ name: 'stellaops-pg-monitoring-queries', key: 'queries' }]);
    // survives the YAML round trip the renderer's output goes through
    const back = parse(stringify(cm)) as { data: Record<string, string> };
    expect(back.data.queries).toBe(readFileSync(MONITORING_ASSETS.queries, 'utf8'));
  });

  it('PodMonitor relabelings turn CNPG names into the ones the rules and dashboards read', () => {
    const [instances, pooler] = byKind('PodMonitor') as unknown as {
      metadata: { name: string };
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: {
          port: string;
          relabelings: { replacement: string }[];
          metricRelabelings: { regex: string; replacement: string; sourceLabels: string[]; targetLabel: string }[];
        }[];
      };
    }[];
    expect(instances!.spec.selector.matchLabels).toEqual({ 'cnpg.io/cluster': 'stellaops-pg', 'cnpg.io/podRole': 'instance' });
    expect(pooler!.spec.selector.matchLabels).toEqual({ 'cnpg.io/poolerName': 'stellaops-pg-rw' });
    const instEp = instances!.spec.podMetricsEndpoints[0]!;
    const poolEp = pooler!.spec.podMetricsEndpoints[0]!;
    expect(instEp.port).toBe('metrics');
    expect(instEp.relabelings[0]!.replacement).toBe('stellaops-postgres');
    expect(poolEp.relabelings[0]!.replacement).toBe('stellaops-pgbouncer');
    for (const r of [...instEp.metricRelabelings, ...poolEp.metricRelabelings])
      expect(r).toMatchObject({ sourceLabels: ['__name__'], targetLabel: '__name__' });

    const used = metricNamesUsed();
    expect(used.size).toBeGreaterThan(20);
    for (const name of used) {
      if (name.startsWith('stellaops_') || name === 'pg_up') {
        // CNPG exports custom queries as cnpg_<name>, and its own up flag as cnpg_collector_up
        const cnpgName = name === 'pg_up' ? 'cnpg_collector_up' : `cnpg_${name}`;
        expect(relabel(cnpgName, instEp.metricRelabelings), cnpgName).toBe(name);
      } else if (name === 'pgbouncer_pool_size' || name === 'pgbouncer_config_max_client_conn') {
        // not exported by CNPG: recorded from poolerPoolSize / poolerMaxClientConn (next test)
        expect(Object.values(CNPG_PGBOUNCER_RENAMES)).not.toContain(name);
      } else {
        const source = Object.entries(CNPG_PGBOUNCER_RENAMES).find(([, to]) => to === name)?.[0];
        expect(source, `a CNPG pooler metric for ${name}`).toBeDefined();
        expect(relabel(source!, poolEp.metricRelabelings)).toBe(name);
      }
    }
    // other CNPG metrics keep their names
    expect(relabel('cnpg_pg_replication_lag', instEp.metricRelabelings)).toBe('cnpg_pg_replication_lag');
  });

  it('the PrometheusRule carries the repository rules and passes promtool check rules', () => {
    const [rule] = byKind('PrometheusRule') as unknown as { spec: unknown }[];
    expect(rule!.spec).toEqual(parse(readFileSync(MONITORING_ASSETS.rules, 'utf8')));
    try {
      accessSync('/usr/bin/promtool');
    } catch {
      if (process.env.CI) throw new Error('CI must install promtool');
      return; // promtool check is covered by rules.test.ts where it exists
    }
    const dir = mkdtempSync(join(tmpdir(), 'stella-prule-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), stringify(rule!.spec));
      expect(execFileSync('/usr/bin/promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' })).toMatch(
        /SUCCESS: \d+ rules found/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records the pool size and max_client_conn from the Pooler settings, since CNPG does not export them', () => {
    const withSize = renderMonitoringManifests({
      clusterName: 'stellaops-pg',
      namespace: 'stellaops',
      poolerName: 'stellaops-pg-rw',
      poolerPoolSize: 25,
      poolerMaxClientConn: 1000,
    });
    const spec = withSize.objects.find((o) => o.kind === 'PrometheusRule')!.spec as {
      groups: { name: string; rules: { record?: string; expr: string }[] }[];
    };
    expect(spec.groups[0]).toEqual({
      name: 'stellaops-cnpg-pooler',
      rules: [
        { record: 'pgbouncer_pool_size', expr: 'max without (user) (pgbouncer_active_clients{job="stellaops-pgbouncer"}) * 0 + 25' },
        { record: 'pgbouncer_config_max_client_conn', expr: 'pgbouncer_used_clients{job="stellaops-pgbouncer"} * 0 + 1000' },
      ],
    });
    expect(spec.groups.slice(1)).toEqual((parse(readFileSync(MONITORING_ASSETS.rules, 'utf8')) as { groups: unknown[] }).groups);
    expect(() => renderMonitoringManifests({ clusterName: 'a', namespace: 'b', poolerPoolSize: 5 })).toThrow(
      /poolerPoolSize needs poolerName/,
    );
  });

  it('leaves the pooler out without a poolerName, and names every problem of bad input', () => {
    expect(renderMonitoringManifests({ clusterName: 'a', namespace: 'b' }).objects.filter((o) => o.kind === 'PodMonitor')).toHaveLength(1);
    const err = (() => {
      try {
        renderMonitoringManifests({ clusterName: 'Bad_Name', namespace: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MonitoringConfigError);
    expect((err as MonitoringConfigError).problems).toHaveLength(2);
    expect((err as Error).message).toMatch(/clusterName "Bad_Name" must be a DNS label/);
  });
});

describe('dashboards', () => {
  it('the committed Grafana dashboard is the rendered one (pnpm generate:grafana)', () => {
    expect(readFileSync(MONITORING_ASSETS.grafanaDashboard, 'utf8')).toBe(`${JSON.stringify(renderGrafanaDashboard(), null, 2)}\n`);
    const cm = byKind('ConfigMap').find((o) => o.metadata.labels?.grafana_dashboard === '1') as unknown as { data: Record<string, string> };
    expect(cm.data['stellaops-postgres.json']).toBe(readFileSync(MONITORING_ASSETS.grafanaDashboard, 'utf8'));
  });

  it('Grafana and the console template show the same panels and expressions', () => {
    const html = readFileSync(MONITORING_ASSETS.console, 'utf8');
    const dash = renderGrafanaDashboard() as { panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[] };
    for (const p of DASHBOARD_PANELS) {
      expect(html, `console panel ${p.id}`).toContain(`data-panel="${p.id}"`);
      const g = dash.panels.find((x) => x.title === p.title);
      expect(g, `grafana panel ${p.title}`).toBeDefined();
      expect(g!.targets.map((t) => t.expr)).toEqual(p.series.map((s) => s.expr));
      for (const s of p.series) {
        expect(html, `console expr ${s.expr}`).toContain(JSON.stringify(s.expr));
        expect(html, `console legend ${s.legend}`).toContain(JSON.stringify(s.legend.replace(/\{\{(\w+)\}\}/g, '[[$1]]')));
      }
    }
    expect(html).toContain(`query "${TOP_STATEMENTS_TABLE_EXPR}"`);
    expect(dash.panels.some((x) => x.targets.some((t) => t.expr === TOP_STATEMENTS_TABLE_EXPR))).toBe(true);
  });
});
