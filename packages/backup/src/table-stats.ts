import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { TableStats } from './manifest.js';
import { connect, literal, type SuperuserConnection } from './pg-session.js';
import { BackupError } from './errors.js';

/** Schemas never counted: PostgreSQL's own. */
const SYSTEM_SCHEMAS = `('pg_catalog', 'information_schema', 'pg_toast')`;

/** Quoted names of the ordinary tables outside the system schemas of the connected database. */
export async function userTables(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ name: string }>(
    `select format('%I.%I', n.nspname, t.relname) as name
       from pg_class t join pg_namespace n on n.oid = t.relnamespace
      where t.relkind = 'r' and t.relpersistence = 'p'
        and n.nspname not in ${SYSTEM_SCHEMAS} and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'
      order by 1`,
  );
  return r.rows.map((x) => x.name);
}

const CHECKSUM_SQL = {
  // the types' own hash functions over the row: 4-5x faster than hashing its text form
  record: (t: string) => `select count(*)::text as rows, coalesce(sum(hash_record_extended(x, 0)), 0)::text as checksum from ${t} x`,
  // for rows with a column type without a hash function (json, point…)
  text: (t: string) => `select count(*)::text as rows, coalesce(sum(hashtextextended(x::text, 0)), 0)::text as checksum from ${t} x`,
};

/**
 * Row count and order-independent checksum of each table, in the client's
 * current snapshot (inside a transaction: a method that fails is rolled back
 * to a savepoint). With `methods`, each table is checksummed the way the
 * manifest recorded it.
 */
export async function countTables(
  c: pg.Client,
  database: string,
  tables: string[],
  methods?: ReadonlyMap<string, TableStats['method']>,
): Promise<TableStats[]> {
  const out: TableStats[] = [];
  for (const t of tables) {
    const key = `${database}.${t}`;
    const wanted = methods?.get(key);
    const order: TableStats['method'][] = wanted ? [wanted] : ['record', 'text'];
    for (const [i, method] of order.entries()) {
      await c.query('savepoint stellaops_count');
      try {
        const r = await c.query<{ rows: string; checksum: string }>(CHECKSUM_SQL[method](t));
        await c.query('release savepoint stellaops_count');
        out.push({ table: key, rows: Number(r.rows[0]?.rows ?? 0), checksum: r.rows[0]?.checksum ?? '0', method });
        break;
      } catch (e) {
        await c.query('rollback to savepoint stellaops_count');
        if (i === order.length - 1) throw e;
      }
    }
  }
  return out;
}

/** The databases whose tables a backup counts by default: every connectable, non-template one. */
export async function statsDatabases(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ datname: string }>('select datname from pg_database where datallowconn and not datistemplate order by datname');
  return r.rows.map((x) => x.datname);
}

/** One attempt may hold locks this long before it gives them all back (well under deadlock_timeout, 1 s by default). */
const ATTEMPT_MS = 200;
/** Wait for one table's lock at most this long per attempt. */
const PER_LOCK_MS = 50;

/**
 * Takes `SHARE` locks on every table of every database (no writer in flight,
 * none can start). Never waits long while holding locks: each lock waits at
 * most 50 ms and an attempt at most 200 ms, then everything is released and
 * retried after a pause. So a writer that waits for us never reaches its
 * `deadlock_timeout`, and an application transaction is never chosen as a
 * deadlock victim because of a backup.
 */
async function pauseWrites(lockers: pg.Client[], tablesByDb: string[][], databases: string[], lockTimeoutMs: number): Promise<void> {
  const deadline = performance.now() + lockTimeoutMs;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    const t0 = Date.now();
    let ok = true;
    try {
      for (const [i, c] of lockers.entries()) {
        await c.query('begin isolation level repeatable read');
        const tables = tablesByDb[i] ?? [];
        if (tables.length === 0) continue;
        const left = ATTEMPT_MS - (Date.now() - t0);
        if (left <= 0) throw Object.assign(new Error('attempt took too long'), { code: 'SLOW' });
        // one statement per database; each lock waits ≤ 50 ms, the statement ≤ what is left of the attempt
        await c.query(`set local lock_timeout = ${PER_LOCK_MS}`);
        await c.query(`set local statement_timeout = ${left}`);
        await c.query(`lock table only ${tables.join(', ')} in share mode`);
        await c.query('set local statement_timeout = 0');
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== '55P03' && code !== '57014' && code !== 'SLOW') throw e;
      ok = false;
      lastError = e;
    }
    if (ok) return;
    for (const c of lockers) await c.query('rollback').catch(() => undefined);
    if (performance.now() > deadline) {
      throw new BackupError(
        'BACKUP_STATS_LOCK',
        `Could not find a moment without writes in flight on the tables of ${databases.join(', ')} within ${lockTimeoutMs} ms (${attempt + 1} attempts) ` +
          "to count rows at the backup's restore point: long write transactions keep them busy. " +
          'The backup is kept without row counts (verify then checks startup and indexes only). Fix: take backups when no long-running write transaction is open, or raise the lock timeout.',
        { cause: lastError },
      );
    }
    await sleep(20 + Math.floor(Math.random() * 80));
  }
}

/**
 * Creates the restore point `name` at a moment when no transaction writes to
 * any user table (each database's tables briefly locked `IN SHARE MODE`), and
 * counts every table in exactly that state (exported snapshots), so a
 * recovery to the restore point must reproduce these counts and checksums.
 * Writers wait only while the locks are taken and the snapshots exported
 * (milliseconds; see `pauseWrites`).
 */
export async function restorePointWithStats(
  conn: SuperuserConnection,
  databases: string[],
  name: string,
  lockTimeoutMs: number,
): Promise<{ lsn: string; time: string; tables: TableStats[] }> {
  const lockers: pg.Client[] = [];
  const readers: pg.Client[] = [];
  try {
    const tablesByDb: string[][] = [];
    for (const db of databases) {
      const c = await connect(conn, db, 'stellaops-backup-stats');
      lockers.push(c);
      tablesByDb.push(await userTables(c));
    }
    await pauseWrites(lockers, tablesByDb, databases, lockTimeoutMs);
    const rp = await lockers[0]!.query<{ lsn: string; time: Date }>(
      'select pg_create_restore_point($1)::text as lsn, clock_timestamp() as time',
      [name],
    );
    const snapshots: string[] = [];
    for (const c of lockers) snapshots.push((await c.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s);
    for (const [i, db] of databases.entries()) {
      const r = await connect(conn, db, 'stellaops-backup-stats');
      readers.push(r);
      await r.query('begin isolation level repeatable read read only');
      await r.query(`set transaction snapshot ${literal(snapshots[i]!)}`);
    }
    for (const c of lockers) await c.query('commit');
    const tables: TableStats[] = [];
    for (const [i, r] of readers.entries()) tables.push(...(await countTables(r, databases[i]!, tablesByDb[i] ?? [])));
    for (const r of readers) await r.query('commit');
    return { lsn: rp.rows[0]!.lsn, time: rp.rows[0]!.time.toISOString(), tables };
  } finally {
    for (const c of [...lockers, ...readers]) await c.end().catch(() => undefined);
  }
}

/** A restore point without row counts (when writes could not be paused). */
export async function restorePointOnly(conn: SuperuserConnection, name: string): Promise<{ lsn: string; time: string }> {
  const c = await connect(conn, undefined, 'stellaops-backup-stats');
  try {
    const r = await c.query<{ lsn: string; time: Date }>('select pg_create_restore_point($1)::text as lsn, clock_timestamp() as time', [
      name,
    ]);
    return { lsn: r.rows[0]!.lsn, time: r.rows[0]!.time.toISOString() };
  } finally {
    await c.end().catch(() => undefined);
  }
}
