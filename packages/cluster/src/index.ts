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
export { ClusterError, ClusterStateError, ComponentError, InvalidClusterInputError, MissingPackageError, SettingsRejectedError } from './errors.js';
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
