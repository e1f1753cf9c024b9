/**
 * `@stellaops/cluster`: the production-shaped PostgreSQL 16 cluster — computed
 * settings, TLS, PgBouncer — runnable on one machine (`stella-db cluster up`)
 * and rendered for staging on CloudNativePG (`stella-db cluster manifests`).
 *
 * @example
 * ```ts
 * import { computeSettings, parseMemory, renderPostgresqlConf } from '@stellaops/cluster';
 * const settings = computeSettings({ memoryBytes: parseMemory('64GiB') });
 * console.log(renderPostgresqlConf(settings.postgres));
 * ```
 *
 * @packageDocumentation
 */
export {
  ClusterError,
  ClusterStateError,
  ComponentError,
  InvalidClusterInputError,
  MissingPackageError,
  SettingsRejectedError,
} from './errors.js';
export { formatMemory, parseMemory, pgMemory, MAX_MEMORY_BYTES, MIN_MEMORY_BYTES } from './memory.js';
export { clusterLayout, type ClusterLayout } from './layout.js';
export {
  computeSettings,
  parseOverrides,
  renderPostgresqlConf,
  settingsMap,
  DIRECT_HEADROOM,
  MAX_CLIENT_CONN,
  type ClusterSetting,
  type ClusterSettings,
  type PoolLimits,
  type SettingScope,
  type SettingsInput,
} from './settings.js';
export { validateSettingsWithServer } from './validate-settings.js';
export { Cluster, REQUIRED_PROGRAMS, sameValue, type ClusterOptions, type ClusterStatus } from './cluster.js';
export type { ClusterComponent, ClusterContext, ComponentStatus } from './component.js';
export { PostgresComponent, adminClient, renderPgHba, DATABASE } from './postgres-component.js';
export { RolesComponent, APP_ROLE, OWNER_ROLE, AUTH_QUERY } from './roles-component.js';
export {
  PgBouncerComponent,
  pgbouncerSettings,
  poolerResetSettings,
  renderPgBouncerIni,
  PGBOUNCER_ADMIN,
  PGBOUNCER_STATS,
  type PgBouncerSetting,
  type PoolUse,
} from './pgbouncer-component.js';
export { TlsComponent, AUTH_ROLE } from './tls-component.js';
export { scramVerifier } from './scram.js';
export { POOLER_RESET_MODES, type ClusterSecrets, type ClusterState, type MonitoringMode, type PoolerReset } from './state.js';
export {
  MonitoringComponent,
  MONITORING_PROGRAMS,
  MONITORING_ROLE,
  monitoringTargets,
  monitoringUrls,
  parseScrapeTargets,
  type MonitoringComponentOptions,
  type MonitoringUrls,
} from './monitoring-component.js';
export { connectionInfo, HIDDEN, type ConnectionForms, type ConnectionInfo } from './env.js';
export { renderManifests, STAGING_IMAGE, type ManifestOptions, type RenderedManifest } from './manifests.js';
