/** One series of a dashboard panel. */
export interface PanelSeries {
  expr: string;
  /** Legend with `{{label}}` placeholders (Grafana style; the console uses `[[label]]`). */
  legend: string;
}

/** One dashboard panel; the console template and the Grafana dashboard show the same list. */
export interface DashboardPanel {
  /** Matches `data-panel` in the console template. */
  id: string;
  title: string;
  /** Grafana unit id. */
  unit: string;
  series: PanelSeries[];
  min?: number;
  max?: number;
}

/**
 * The dashboard's graph panels, in order. `assets/consoles/stellaops-postgres.html`
 * draws exactly these expressions (a test checks it) and
 * `renderGrafanaDashboard()` turns them into the staging dashboard.
 *
 * @example
 * ```ts
 * for (const p of DASHBOARD_PANELS) console.log(p.title, p.series.map((s) => s.expr));
 * ```
 */
export const DASHBOARD_PANELS: readonly DashboardPanel[] = [
  {
    id: 'connections',
    title: 'Connections by state',
    unit: 'short',
    series: [
      { expr: 'sum by (state) (stellaops_pg_connections_count)', legend: '{{state}}' },
      { expr: 'max(stellaops_pg_settings_max_connections)', legend: 'max_connections' },
    ],
  },
  {
    id: 'tps',
    title: 'Transactions per second',
    unit: 'ops',
    series: [
      { expr: 'sum(stellaops:pg_tps:rate1m)', legend: 'transactions/s' },
      { expr: 'sum(stellaops:pg_rollbacks:rate1m)', legend: 'rollbacks/s' },
    ],
  },
  {
    id: 'cache-hit-ratio',
    title: 'Cache hit ratio',
    unit: 'percentunit',
    min: 0,
    max: 1,
    series: [{ expr: 'stellaops:pg_cache_hit_ratio:rate5m', legend: 'hit ratio {{instance}}' }],
  },
  {
    id: 'pgbouncer',
    title: 'PgBouncer pools and waits',
    unit: 'short',
    series: [
      { expr: 'stellaops:pgbouncer_active_clients:sum', legend: 'clients active {{database}}' },
      { expr: 'stellaops:pgbouncer_server_active:sum', legend: 'servers active {{database}}' },
      { expr: 'stellaops:pgbouncer_waiting_clients:sum', legend: 'clients waiting {{database}}' },
      { expr: "pgbouncer_pool_size{database!='pgbouncer'}", legend: 'pool size {{database}}' },
    ],
  },
  {
    id: 'wal',
    title: 'WAL and archiving',
    unit: 'Bps',
    series: [
      { expr: 'sum(stellaops:pg_wal_bytes:rate1m)', legend: 'WAL written' },
      { expr: 'sum(rate(stellaops_pg_archiver_archived_count[1m])) * 16777216', legend: 'WAL archived (segments × 16 MiB)' },
    ],
  },
  {
    id: 'backup-age',
    title: 'Backup age',
    unit: 'h',
    min: 0,
    series: [{ expr: 'stellaops:backup_age_seconds / 3600', legend: 'hours since last backup {{instance}}' }],
  },
  {
    id: 'top-statements',
    title: 'Top statements (execution time per second, last minute)',
    unit: 's',
    series: [{ expr: 'topk(5, stellaops:pg_statements_exec_seconds:rate1m)', legend: '{{queryid}} {{query}}' }],
  },
];
