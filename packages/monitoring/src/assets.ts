import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's `assets/` folder (the same relative place from `src/` and `dist/`). */
export const ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');

/**
 * Paths of the monitoring assets kept in the repository.
 *
 * @example
 * ```ts
 * import { MONITORING_ASSETS } from '@stellaops/monitoring';
 * console.log(MONITORING_ASSETS.queries); // …/packages/monitoring/assets/queries.yaml
 * ```
 */
export const MONITORING_ASSETS = {
  /** postgres_exporter custom queries (also CloudNativePG's ConfigMap). */
  queries: join(ASSETS_DIR, 'queries.yaml'),
  /** Prometheus recording and alert rules. */
  rules: join(ASSETS_DIR, 'rules', 'stellaops-postgres.rules.yml'),
  /** `promtool test rules` unit tests of the rules. */
  rulesTest: join(ASSETS_DIR, 'rules', 'stellaops-postgres.rules.test.yml'),
  /** The Prometheus console template served at /consoles/stellaops-postgres.html. */
  console: join(ASSETS_DIR, 'consoles', 'stellaops-postgres.html'),
  /** Runs Debian's PgBouncer exporter adapted to PgBouncer 1.18 (renamed stats, server-side pool columns, reconnect). */
  pgbouncerExporterShim: join(ASSETS_DIR, 'pgbouncer-exporter', 'stellaops_pgbouncer_exporter.py'),
  /** The same panels as a Grafana dashboard (staging). */
  grafanaDashboard: join(ASSETS_DIR, 'grafana', 'stellaops-postgres.json'),
} as const;

/**
 * The custom-queries file exactly as committed.
 *
 * @example
 * ```ts
 * const text = readQueriesFile(); // YAML, keys stellaops_pg_*
 * ```
 */
export function readQueriesFile(): string {
  return readFileSync(MONITORING_ASSETS.queries, 'utf8');
}
