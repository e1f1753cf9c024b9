import { DASHBOARD_PANELS } from './panels.js';

/** The top-statements table query of the dashboards. */
export const TOP_STATEMENTS_TABLE_EXPR = 'sort_desc(topk(10, stellaops_pg_statements_total_exec_seconds))';

/**
 * The staging Grafana dashboard (JSON model, schemaVersion 39) with the same
 * panels as the console template, plus the top-statements table. Committed as
 * `assets/grafana/stellaops-postgres.json`; a test keeps the file equal to this.
 * The datasource is a variable, so it imports into any Grafana.
 *
 * @example
 * ```ts
 * writeFileSync('dashboard.json', JSON.stringify(renderGrafanaDashboard(), null, 2));
 * ```
 */
export function renderGrafanaDashboard(): Record<string, unknown> {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const panels: Record<string, unknown>[] = DASHBOARD_PANELS.map((p, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: p.title,
    datasource: ds,
    gridPos: p.id === 'top-statements' ? { x: 0, y: 24, w: 24, h: 8 } : { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    fieldConfig: {
      defaults: { unit: p.unit, ...(p.min !== undefined ? { min: p.min } : {}), ...(p.max !== undefined ? { max: p.max } : {}) },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: p.series.map((s, j) => ({
      refId: String.fromCharCode(65 + j),
      datasource: ds,
      expr: s.expr,
      legendFormat: s.legend,
      range: true,
    })),
  }));
  panels.push({
    id: panels.length + 1,
    type: 'table',
    title: 'Top statements by total execution time',
    datasource: ds,
    gridPos: { x: 0, y: 32, w: 24, h: 10 },
    fieldConfig: {
      defaults: {},
      overrides: [
        {
          matcher: { id: 'byName', options: 'Value' },
          properties: [
            { id: 'unit', value: 's' },
            { id: 'displayName', value: 'total time' },
          ],
        },
      ],
    },
    options: { showHeader: true, sortBy: [{ displayName: 'total time', desc: true }] },
    targets: [{ refId: 'A', datasource: ds, expr: TOP_STATEMENTS_TABLE_EXPR, format: 'table', instant: true, range: false }],
    transformations: [
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true, __name__: true, job: true },
          renameByName: { queryid: 'query id', datname: 'database', username: 'role', query: 'statement' },
        },
      },
    ],
  });
  return {
    title: 'StellaOps PostgreSQL',
    uid: 'stellaops-postgres',
    tags: ['stellaops', 'postgresql', 'pgbouncer'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    annotations: { list: [] },
    panels,
  };
}
