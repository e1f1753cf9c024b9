import { readFileSync } from 'node:fs';
import pg from 'pg';
import { MonitoringConfigError } from './errors.js';
import type { PgBouncerTarget, PostgresTarget } from './start-monitoring.js';

/** One statement of pg_stat_statements, summed over its top-level/nested entries. */
export interface TopStatement {
  queryid: string;
  database: string;
  role: string;
  calls: number;
  totalExecMs: number;
  meanExecMs: number;
  rows: number;
  /** Whitespace-collapsed normalized text. */
  query: string;
}

/** One PgBouncer pool (SHOW POOLS + the database's pool_size). */
export interface TopPool {
  database: string;
  user: string;
  mode: string;
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  poolSize: number;
  /** How long the oldest waiting client has waited. */
  maxWaitSeconds: number;
}

/** What {@link collectTop} read at one moment. */
export interface TopSnapshot {
  takenAt: Date;
  server: {
    maxConnections: number;
    /** Client backends per state. */
    connections: Record<string, number>;
    longestActiveQuerySeconds: number;
    longestIdleInTransactionSeconds: number;
    xactCommit: number;
    xactRollback: number;
    blksHit: number;
    blksRead: number;
  };
  /** Busiest first (total execution time). */
  statements: TopStatement[];
  /** Undefined when no PgBouncer was given. */
  pools: TopPool[] | undefined;
}

/** Options of {@link collectTop}. */
export interface CollectTopOptions {
  /** The monitoring role (pg_monitor) — the same target as the exporter's. */
  postgres: PostgresTarget;
  /** A PgBouncer stats_users user — the same as the exporter's. */
  pgbouncer?: PgBouncerTarget;
  /** Statements to keep; default 10. */
  limit?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function clientConfig(t: PostgresTarget | PgBouncerTarget, database: string, name: string): pg.ClientConfig {
  if (!t.sslrootcert && !LOOPBACK.has(t.host)) {
    throw new MonitoringConfigError([
      `${name}.host ${t.host} is not loopback and no ${name}.sslrootcert is given: refusing plaintext TCP. Fix: pass the CA file.`,
    ]);
  }
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database,
    ssl: t.sslrootcert ? { ca: readFileSync(t.sslrootcert, 'utf8') } : false,
    connectionTimeoutMillis: 5000,
    application_name: 'stellaops-top',
  };
}

async function withClient<T>(config: pg.ClientConfig, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

const SERVER_SQL = `
SELECT current_setting('max_connections')::int AS max_connections,
       coalesce((SELECT json_object_agg(state, n) FROM (
         SELECT state, count(*)::int AS n FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND state IS NOT NULL GROUP BY state) s), '{}'::json) AS connections,
       coalesce((SELECT max(extract(epoch FROM now() - query_start)) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()), 0)::float8 AS longest_active,
       coalesce((SELECT max(extract(epoch FROM now() - state_change)) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND state LIKE 'idle in transaction%'), 0)::float8 AS longest_idle_in_tx,
       (SELECT sum(xact_commit) FROM pg_stat_database)::float8 AS xact_commit,
       (SELECT sum(xact_rollback) FROM pg_stat_database)::float8 AS xact_rollback,
       (SELECT sum(blks_hit) FROM pg_stat_database)::float8 AS blks_hit,
       (SELECT sum(blks_read) FROM pg_stat_database)::float8 AS blks_read`;

const STATEMENTS_SQL = `
SELECT s.queryid::text AS queryid, d.datname AS database, r.rolname AS role, s.calls::float8 AS calls,
       s.total_exec_time::float8 AS total_exec_ms, (s.total_exec_time / greatest(s.calls, 1))::float8 AS mean_exec_ms,
       s.rows::float8 AS rows, regexp_replace(s.query, '\\s+', ' ', 'g') AS query
FROM (
  SELECT userid, dbid, queryid, min(query) AS query, sum(calls) AS calls, sum(total_exec_time) AS total_exec_time, sum(rows) AS rows
  FROM pg_stat_statements
  WHERE queryid IS NOT NULL AND query !~* 'password'
    AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
  GROUP BY userid, dbid, queryid
  ORDER BY sum(total_exec_time) DESC
  LIMIT $1
) s
JOIN pg_database d ON d.oid = s.dbid
JOIN pg_roles r ON r.oid = s.userid
ORDER BY s.total_exec_time DESC`;

/**
 * Reads the numbers behind `stella-db cluster top` straight from the servers
 * (no Prometheus needed): connections, the busiest statements of
 * pg_stat_statements, and PgBouncer's pools and waits. Connects with the same
 * least-privilege users and TLS as the exporters.
 *
 * @example
 * ```ts
 * const snap = await collectTop({ postgres: monitorTarget, pgbouncer: statsTarget });
 * process.stdout.write(renderTop(snap));
 * ```
 */
export async function collectTop(options: CollectTopOptions): Promise<TopSnapshot> {
  const limit = options.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new MonitoringConfigError([`limit ${limit} must be an integer from 1 to 100.`]);
  const pgConfig = clientConfig(options.postgres, options.postgres.database, 'postgres');
  const bouncerConfig = options.pgbouncer ? clientConfig(options.pgbouncer, 'pgbouncer', 'pgbouncer') : undefined;
  const [serverPart, pools] = await Promise.all([
    withClient(pgConfig, async (c) => {
      const server = (await c.query(SERVER_SQL)).rows[0] as Record<string, unknown>;
      const statements = (await c.query(STATEMENTS_SQL, [limit])).rows as Record<string, unknown>[];
      return { server, statements };
    }),
    bouncerConfig ? withClient(bouncerConfig, readPools) : Promise.resolve(undefined),
  ]);
  const s = serverPart.server;
  return {
    takenAt: new Date(),
    server: {
      maxConnections: Number(s.max_connections),
      connections: s.connections as Record<string, number>,
      longestActiveQuerySeconds: Number(s.longest_active),
      longestIdleInTransactionSeconds: Number(s.longest_idle_in_tx),
      xactCommit: Number(s.xact_commit),
      xactRollback: Number(s.xact_rollback),
      blksHit: Number(s.blks_hit),
      blksRead: Number(s.blks_read),
    },
    statements: serverPart.statements.map((r) => ({
      queryid: String(r.queryid),
      database: String(r.database),
      role: String(r.role),
      calls: Number(r.calls),
      totalExecMs: Number(r.total_exec_ms),
      meanExecMs: Number(r.mean_exec_ms),
      rows: Number(r.rows),
      query: String(r.query),
    })),
    pools,
  };
}

/** SHOW POOLS + SHOW DATABASES on PgBouncer's admin console (simple protocol only). */
async function readPools(c: pg.Client): Promise<TopPool[]> {
  const pools = (await c.query('SHOW POOLS')).rows as Record<string, string>[];
  const dbs = (await c.query('SHOW DATABASES')).rows as Record<string, string>[];
  const poolSize = new Map(dbs.map((d) => [d.name, Number(d.pool_size)]));
  return pools
    .filter((p) => p.database !== 'pgbouncer')
    .map((p) => ({
      database: String(p.database),
      user: String(p.user),
      mode: String(p.pool_mode ?? ''),
      clientsActive: Number(p.cl_active),
      clientsWaiting: Number(p.cl_waiting),
      serversActive: Number(p.sv_active),
      serversIdle: Number(p.sv_idle),
      poolSize: poolSize.get(p.database) ?? 0,
      maxWaitSeconds: Number(p.maxwait) + Number(p.maxwait_us ?? 0) / 1e6,
    }));
}

/** Options of {@link renderTop}. */
export interface RenderTopOptions {
  /** An earlier snapshot: rates (TPS, calls/s, time/s) are computed against it. */
  previous?: TopSnapshot;
  /** Line width; default 120. */
  width?: number;
}

function pad(s: string, n: number, right = false): string {
  const t = s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s;
  return right ? t.padStart(n) : t.padEnd(n);
}

function num(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function ms(n: number): string {
  if (n >= 60_000) return `${(n / 60_000).toFixed(1)}m`;
  if (n >= 1000) return `${(n / 1000).toFixed(2)}s`;
  return `${n.toFixed(2)}ms`;
}

/**
 * A plain-text screen (no colours, fits `width`) of a {@link TopSnapshot}:
 * connections and TPS, PgBouncer pools with waits, and the busiest
 * statements. With `previous`, counters become rates over the interval.
 *
 * @example
 * ```ts
 * let prev: TopSnapshot | undefined;
 * setInterval(async () => {
 *   const snap = await collectTop(opts);
 *   process.stdout.write('\x1b[H\x1b[2J' + renderTop(snap, { previous: prev }));
 *   prev = snap;
 * }, 2000);
 * ```
 */
export function renderTop(snapshot: TopSnapshot, options: RenderTopOptions = {}): string {
  const width = Math.max(80, options.width ?? 120);
  const prev = options.previous;
  const s = snapshot.server;
  const lines: string[] = [];
  const used = Object.values(s.connections).reduce((a, b) => a + b, 0);
  const states = Object.entries(s.connections)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(pad(`stella-db top — ${snapshot.takenAt.toISOString().replace(/\.\d+Z$/, 'Z')}`, width));
  lines.push(
    pad(
      `connections ${used}/${s.maxConnections} (${((100 * used) / Math.max(1, s.maxConnections)).toFixed(0)}%)${states ? `: ${states}` : ''}`,
      width,
    ),
  );
  const seconds = prev ? (snapshot.takenAt.getTime() - prev.takenAt.getTime()) / 1000 : 0;
  if (prev && seconds > 0) {
    const tps = (s.xactCommit + s.xactRollback - prev.server.xactCommit - prev.server.xactRollback) / seconds;
    const hits = s.blksHit - prev.server.blksHit;
    const reads = s.blksRead - prev.server.blksRead;
    const ratio = hits + reads > 0 ? `${((100 * hits) / (hits + reads)).toFixed(1)}%` : '-';
    lines.push(
      pad(
        `tps ${tps.toFixed(1)}  rollbacks/s ${((s.xactRollback - prev.server.xactRollback) / seconds).toFixed(1)}  cache hit ${ratio} (last ${seconds.toFixed(0)}s)`,
        width,
      ),
    );
  } else {
    const total = s.blksHit + s.blksRead;
    lines.push(
      pad(
        `transactions ${num(s.xactCommit + s.xactRollback)} (rolled back ${num(s.xactRollback)})  cache hit ${total > 0 ? ((100 * s.blksHit) / total).toFixed(1) : '-'}% since stats reset`,
        width,
      ),
    );
  }
  lines.push(
    pad(
      `longest active query ${s.longestActiveQuerySeconds.toFixed(1)}s  longest idle in transaction ${s.longestIdleInTransactionSeconds.toFixed(1)}s`,
      width,
    ),
  );
  lines.push('');

  if (snapshot.pools) {
    const modes = [...new Set(snapshot.pools.map((p) => p.mode))].join(', ');
    lines.push(pad(`PGBOUNCER POOLS${modes ? ` (${modes} mode)` : ''}`, width));
    lines.push(
      `${pad('database', 14)} ${pad('user', 18)} ${pad('cl_act', 7, true)} ${pad('cl_wait', 7, true)} ${pad('sv_act', 7, true)} ${pad('sv_idle', 7, true)} ${pad('size', 5, true)} ${pad('use', 5, true)} ${pad('max wait', 9, true)}`,
    );
    for (const p of snapshot.pools) {
      const use = p.poolSize > 0 ? `${Math.round((100 * p.serversActive) / p.poolSize)}%` : '-';
      const flag = p.clientsWaiting > 0 ? '  <- waiting' : '';
      lines.push(
        `${pad(p.database, 14)} ${pad(p.user, 18)} ${pad(String(p.clientsActive), 7, true)} ${pad(String(p.clientsWaiting), 7, true)} ${pad(String(p.serversActive), 7, true)} ${pad(String(p.serversIdle), 7, true)} ${pad(String(p.poolSize), 5, true)} ${pad(use, 5, true)} ${pad(`${p.maxWaitSeconds.toFixed(1)}s`, 9, true)}${flag}`,
      );
    }
    if (snapshot.pools.length === 0) lines.push('(no pools in use)');
    lines.push('');
  }

  const previousById = new Map((prev?.statements ?? []).map((st) => [`${st.queryid}/${st.database}/${st.role}`, st]));
  lines.push(pad(prev ? `BUSIEST STATEMENTS (last ${seconds.toFixed(0)}s)` : 'BUSIEST STATEMENTS (since stats reset)', width));
  const fixed = 22 + 12 + 9 + 10 + 10 + 10; // the columns before the statement
  lines.push(
    `${pad('query id', 21)} ${pad('database', 11)} ${pad(prev ? 'calls/s' : 'calls', 8, true)} ${pad(prev ? 'time/s' : 'total', 9, true)} ${pad('mean', 9, true)} ${pad('rows', 8, true)}  statement`,
  );
  for (const st of snapshot.statements) {
    const before = previousById.get(`${st.queryid}/${st.database}/${st.role}`);
    const calls = prev && seconds > 0 ? (st.calls - (before?.calls ?? 0)) / seconds : st.calls;
    const time = prev && seconds > 0 ? ms((st.totalExecMs - (before?.totalExecMs ?? 0)) / seconds) : ms(st.totalExecMs);
    lines.push(
      `${pad(st.queryid, 21)} ${pad(st.database, 11)} ${pad(num(calls), 8, true)} ${pad(time, 9, true)} ${pad(ms(st.meanExecMs), 9, true)} ${pad(num(st.rows), 8, true)}  ${pad(st.query, Math.max(10, width - fixed))}`,
    );
  }
  if (snapshot.statements.length === 0) lines.push('(no statements recorded: is pg_stat_statements preloaded?)');
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}
