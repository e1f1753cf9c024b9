import { InvalidClusterInputError } from './errors.js';
import type { ClusterLayout } from './layout.js';
import { formatMemory, pgMemory } from './memory.js';

/**
 * Where a setting applies: `portable` settings go to every target (the local
 * cluster and CloudNativePG's `postgresql.parameters`); `host` settings only
 * to the local cluster, because on CloudNativePG the operator owns them
 * (listen addresses, TLS files, archiving, preload libraries, log format).
 */
export type SettingScope = 'portable' | 'host';

/** One computed PostgreSQL setting with the reason for its value. */
export interface ClusterSetting {
  readonly name: string;
  readonly value: string;
  /** One line: why this value. */
  readonly reason: string;
  readonly scope: SettingScope;
}

/** PgBouncer limits derived from the server's connection budget. */
export interface PoolLimits {
  /** Client connections PgBouncer accepts. */
  readonly maxClientConn: number;
  /** Server connections per user/database pair. */
  readonly defaultPoolSize: number;
  /** Server connections per database, all users together (the cap). */
  readonly maxDbConnections: number;
  /** Server connections kept free for direct use (migrations, monitoring, backups, admin). */
  readonly directHeadroom: number;
  /** `superuser_reserved_connections`. */
  readonly superuserReserved: number;
}

/** The cluster's settings: PostgreSQL's, with reasons, and PgBouncer's limits. */
export interface ClusterSettings {
  /** Memory the settings were computed for, in bytes. */
  readonly memoryBytes: number;
  readonly postgres: readonly ClusterSetting[];
  readonly pool: PoolLimits;
}

/** Input of {@link computeSettings}. */
export interface SettingsInput {
  /** RAM of the target machine (bytes): the host's, or `--memory`. */
  memoryBytes: number;
  /** `--set name=value` overrides, applied last (PostgreSQL checks them before start). */
  overrides?: Readonly<Record<string, string>>;
  /** The local cluster's folders; without it, host settings that name files are left out. */
  layout?: ClusterLayout;
}

/** Client connections PgBouncer accepts (the seed: 100 server connections via a pooler of 500). */
export const MAX_CLIENT_CONN = 500;
/** Server connections kept outside PgBouncer's cap: migrations, exporter, backups, admin sessions. */
export const DIRECT_HEADROOM = 17;
const MIN_POOL = 10;

const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/**
 * Computes the cluster's PostgreSQL settings for a machine with
 * `memoryBytes` of RAM: the seed's values (max_connections 100,
 * shared_buffers 25 %, work_mem 64MB, maintenance_work_mem 512MB,
 * wal_level replica, max_wal_size 2GB) plus what a production cluster needs
 * (pg_stat_statements, SCRAM, logging, TLS, WAL archiving), each with a
 * one-line reason, then PgBouncer's limits so pool + headroom +
 * superuser-reserved = max_connections. Pure: no I/O.
 *
 * Throws {@link InvalidClusterInputError} for overrides that cannot work
 * (bad names, archiving without `wal_level = replica`, a connection budget
 * too small for the pool); PostgreSQL's own range checks run later, in
 * {@link validateSettingsWithServer}.
 *
 * @example
 * ```ts
 * const s = computeSettings({ memoryBytes: parseMemory('64GiB') });
 * s.postgres.find((x) => x.name === 'shared_buffers')?.value; // '16GB'
 * s.pool.maxDbConnections;                                   // 80
 * ```
 */
export function computeSettings(input: SettingsInput): ClusterSettings {
  const mem = input.memoryBytes;
  const ram = formatMemory(mem);
  const list: ClusterSetting[] = [];
  const add = (name: string, value: string, reason: string, scope: SettingScope = 'portable') => list.push({ name, value, reason, scope });

  add('max_connections', '100', 'seed: 100 server connections; services reach them through PgBouncer (500 clients)');
  add('superuser_reserved_connections', '3', 'an administrator can always log in, even with every slot taken');
  add('shared_buffers', pgMemory(mem / 4), `25% of ${ram} RAM (PostgreSQL's guidance; the OS page cache holds the rest)`);
  add(
    'effective_cache_size',
    pgMemory((mem * 3) / 4),
    `75% of ${ram}: tells the planner how much the OS cache plus shared_buffers can hold`,
  );
  add('work_mem', '64MB', 'seed: per sort/hash step; bounded in total because PgBouncer caps active server connections');
  add('maintenance_work_mem', '512MB', 'seed: faster CREATE INDEX and VACUUM');
  add('wal_level', 'replica', 'seed: enough WAL for replicas, base backups and archiving (issue 11)');
  add('max_wal_size', '2GB', 'seed: fewer forced checkpoints under write bursts');
  add('min_wal_size', '512MB', 'keeps recycled WAL segments instead of creating new ones after a burst');
  add('checkpoint_completion_target', '0.9', 'spreads checkpoint writes over the interval');
  add('password_encryption', 'scram-sha-256', 'stored passwords are SCRAM verifiers, never MD5');
  add('shared_preload_libraries', 'pg_stat_statements', 'loads pg_stat_statements at start (per-statement statistics)', 'host');
  add('pg_stat_statements.max', '10000', 'distinct statements tracked');
  add('pg_stat_statements.track', 'top', 'top-level statements, as clients send them');
  add(
    'pg_stat_statements.track_utility',
    'off',
    "monitoring: only planned statements (no SET/BEGIN/COMMIT noise from PgBouncer's transaction mode) fill the top-statements view",
  );
  add('log_min_duration_statement', '250ms', 'logs every statement slower than 250 ms with its duration');
  add('log_lock_waits', 'on', 'logs a session waiting on a lock longer than deadlock_timeout');
  add('deadlock_timeout', '1s', 'how long a lock wait lasts before deadlock detection and the lock-wait log line');
  add('log_connections', 'on', 'logs each connection (who, from where, TLS or not)');
  add('log_disconnections', 'on', 'logs each session end with its duration');
  add('log_checkpoints', 'on', 'logs checkpoint timing and volume');
  add('log_temp_files', '10MB', 'logs queries spilling more than 10MB to disk (work_mem too small for them)');
  add('log_autovacuum_min_duration', '10s', 'logs slow autovacuum runs');
  add(
    'idle_in_transaction_session_timeout',
    '10min',
    'ends sessions idle inside a transaction, which would hold locks and a pooled server connection',
  );
  add('timezone', 'UTC', 'timestamps without surprises across services');
  add('log_timezone', 'UTC', 'log timestamps in UTC');
  add('log_line_prefix', '%m [%p] %q%u@%d/%a ', 'time, pid, user@database/application on each log line', 'host');
  add('listen_addresses', '127.0.0.1', 'TCP on loopback only (this machine)', 'host');
  add('ssl', 'on', 'TLS for every TCP connection; pg_hba.conf rejects plaintext TCP', 'host');
  add('ssl_min_protocol_version', 'TLSv1.2', 'no TLS 1.0/1.1', 'host');
  add(
    'archive_mode',
    'on',
    'WAL archiving for point-in-time recovery (issue 11); needs a restart to change, so it is on from the start',
    'host',
  );
  add('archive_timeout', '5min', 'archives a partly filled WAL segment at least every 5 minutes (bounds data loss of the archive)', 'host');
  if (input.layout) {
    const l = input.layout;
    add('unix_socket_directories', l.socketDir, "admin socket in the cluster's private folder (local admin without TCP)", 'host');
    add('unix_socket_permissions', '0700', "only the server's OS user (and root) may use the socket", 'host');
    add('ssl_cert_file', l.tls.serverCert, 'server certificate signed by the local CA (SAN localhost, 127.0.0.1)', 'host');
    add('ssl_key_file', l.tls.serverKey, 'server private key (0600, owned by the server user)', 'host');
    add('ssl_ca_file', l.tls.caCert, "the local CA: verifies PgBouncer's lookup-role client certificate", 'host');
    add('archive_library', 'basic_archive', 'copies each finished WAL segment into the archive folder, no shell command involved', 'host');
    add('basic_archive.archive_directory', l.walArchiveDir, "the layout's WAL archive folder (backups/wal-archive)", 'host');
  }

  const overrides = input.overrides ?? {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    if (!SETTING_NAME.test(name)) {
      problems.push(
        `--set ${name}=… is not a PostgreSQL setting name. Fix: use lower-case names such as work_mem or pg_stat_statements.max.`,
      );
      continue;
    }
    if (/[\n\r\0]/.test(value)) {
      problems.push(`--set ${name}: the value contains a line break. Fix: give it on one line.`);
      continue;
    }
    const at = list.findIndex((s) => s.name === name);
    const setting: ClusterSetting = { name, value, reason: 'override (--set)', scope: at >= 0 ? list[at]!.scope : 'portable' };
    if (at >= 0) list[at] = setting;
    else list.push(setting);
  }
  const get = (name: string) => list.find((s) => s.name === name)?.value;
  const walLevel = get('wal_level');
  if (get('archive_mode') === 'on' && walLevel === 'minimal') {
    problems.push('wal_level=minimal cannot be combined with archive_mode=on (WAL archiving, issue 11). Fix: keep wal_level=replica.');
  }
  const pool = poolLimits(get('max_connections'), get('superuser_reserved_connections'), problems);
  if (problems.length > 0) throw new InvalidClusterInputError(problems);
  return { memoryBytes: mem, postgres: list, pool };
}

function poolLimits(maxConnections: string | undefined, reserved: string | undefined, problems: string[]): PoolLimits {
  const max = Number(maxConnections);
  const su = Number(reserved ?? '3');
  const cap = max - su - DIRECT_HEADROOM;
  if (Number.isInteger(max) && Number.isInteger(su) && cap < MIN_POOL) {
    problems.push(
      `max_connections=${maxConnections} leaves ${cap} server connections for PgBouncer after ${su} superuser-reserved and ${DIRECT_HEADROOM} direct ones. ` +
        `Fix: give max_connections at least ${su + DIRECT_HEADROOM + MIN_POOL}.`,
    );
  }
  const pool = Math.max(cap, MIN_POOL);
  return {
    maxClientConn: MAX_CLIENT_CONN,
    defaultPoolSize: pool,
    maxDbConnections: pool,
    directHeadroom: DIRECT_HEADROOM,
    superuserReserved: su,
  };
}

/** A value quoted for postgresql.conf (single quotes, embedded ones doubled). */
function confValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * Renders settings as postgresql.conf lines, each with its reason as a comment.
 *
 * @example
 * ```ts
 * renderPostgresqlConf(computeSettings({ memoryBytes }).postgres);
 * // "max_connections = '100'  # seed: 100 server connections; …\n…"
 * ```
 */
export function renderPostgresqlConf(settings: readonly ClusterSetting[]): string {
  return settings.map((s) => `${s.name} = ${confValue(s.value)}  # ${s.reason}`).join('\n') + '\n';
}

/** Settings as a name → value map (e.g. CloudNativePG's `postgresql.parameters`). */
export function settingsMap(settings: readonly ClusterSetting[], scope?: SettingScope): Record<string, string> {
  return Object.fromEntries(settings.filter((s) => scope === undefined || s.scope === scope).map((s) => [s.name, s.value]));
}

/**
 * Parses `--set name=value` items into an overrides map; throws
 * {@link InvalidClusterInputError} naming each malformed item.
 */
export function parseOverrides(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set "${item}" is not name=value. Fix: e.g. --set work_mem=128MB`);
      continue;
    }
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  if (problems.length > 0) throw new InvalidClusterInputError(problems);
  return out;
}
