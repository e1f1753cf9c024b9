import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresCoreError } from '../errors/postgres-core-error.js';
import type { Queryable } from './rls-sql.js';
import type { TenantKey } from './tenant-key.js';
import { TENANT_KEY_ID_PATTERN } from './tenant-key.js';

/** A stored key conflicts with the one being installed under the same id. */
export class TenantKeyConflictError extends PostgresCoreError {
  /** @param keyId the id already in use */
  constructor(keyId: string) {
    super(
      'TENANT_KEY_CONFLICT',
      `Tenant key "${keyId}" is already installed with a different secret. Fix: install the new secret under a new key id (rotation), or remove "${keyId}" first with removeTenantKey.`,
    );
  }
}

/**
 * Stores `key` in `stellaops_security.tenant_keys` (as its HMAC padded keys,
 * bound parameters). Run as the owner role (or a superuser) after the
 * security migrations. Idempotent for the same secret; a different secret
 * under an existing id throws {@link TenantKeyConflictError} (keys are never
 * silently replaced). Returns whether a row was added.
 *
 * @example
 * ```ts
 * await installTenantKey(ownerClient, new TenantKey('k2', newSecret)); // rotation: see retagTenantRows
 * ```
 */
export async function installTenantKey(db: Queryable, key: TenantKey): Promise<boolean> {
  if (!TENANT_KEY_ID_PATTERN.test(key.keyId))
    throw new PostgresCoreError('INVALID_ARGUMENT', 'tenant key id must be 1-32 letters, digits, "_" or "-"');
  const { inner, outer } = key.pads();
  const r = await db.query(
    `with ins as (
       insert into stellaops_security.tenant_keys (key_id, inner_pad, outer_pad) values ($1, $2, $3)
       on conflict (key_id) do nothing returning 1)
     select (select count(*) from ins)::int as added,
            (select inner_pad = $2 and outer_pad = $3 from stellaops_security.tenant_keys where key_id = $1) as same`,
    [key.keyId, inner, outer],
  );
  const row = r.rows[0];
  if (Number(row?.added) === 1) return true;
  if (row?.same !== true) throw new TenantKeyConflictError(key.keyId);
  return false;
}

/**
 * Removes a key id, and nothing more (after every service signs with its
 * successor and {@link retagTenantRows} moved the rows to it: a removed
 * key's proofs still open rows tagged with it). Returns whether it existed.
 * For rotation step 3 use {@link retireTenantKey}, which also refuses to
 * remove the last key and moves rows written under the key meanwhile.
 */
export async function removeTenantKey(db: Queryable, keyId: string): Promise<boolean> {
  const r = await db.query('delete from stellaops_security.tenant_keys where key_id = $1 returning 1', [keyId]);
  return r.rows.length > 0;
}

/** Ids of the installed keys, oldest first (never the secrets). */
export async function listTenantKeyIds(db: Queryable): Promise<string[]> {
  const r = await db.query('select key_id from stellaops_security.tenant_keys order by created_at, key_id');
  return r.rows.map((x) => String(x.key_id));
}

/** One table {@link retagTenantRows} re-tagged. */
export interface RetagProgress {
  /** `schema.table`. */
  readonly table: string;
  /** Rows whose tag changed. */
  readonly rows: number;
  /** Tables done so far, and in all. */
  readonly done: number;
  readonly total: number;
}

/** One batch of {@link retagTenantRows}: a range of a table's pages, re-tagged in its own short transaction. */
export interface RetagBatchProgress {
  /** `schema.table`. */
  readonly table: string;
  /** `batch`: one batch of the pass over the table's pages; `sweep`: the final sweep of the whole table (one transaction). */
  readonly phase: 'batch' | 'sweep';
  /** Pages of the table done, and its size in pages (when the pass began; for the sweep, when it began). */
  readonly pagesDone: number;
  readonly pages: number;
  /** Rows re-tagged in this table so far. */
  readonly rows: number;
}

/** Options of {@link retagTenantRows}. */
export interface RetagTenantRowsOptions {
  /** Called after each table. */
  onProgress?: (progress: RetagProgress) => void;
  /** Called after each batch (a long table reports while it runs). */
  onBatch?: (batch: RetagBatchProgress) => void;
  /** Pages (8 KiB) per batch, one transaction each (default 1000, about 8 MB). */
  batchPages?: number;
  /** How long a batch waits for its table lock before it backs off and tries again (default 2000 ms). */
  lockTimeoutMs?: number;
  /** Tries per batch before it gives up with `RETAG_LOCK_TIMEOUT` (default 30). */
  lockAttempts?: number;
}

/**
 * Key rotation, step 2 of 3: re-tags every tenant row of every table made
 * tenant-isolated by `tenantIsolationSql` (found by its fill trigger) with the
 * key `keyId`, which must be installed. Run as the tables' owner, or (with no
 * table lock at all) as a superuser, on ONE connection (`pg.Client`), never
 * a pool.
 *
 * Online: each table is re-tagged in batches of `batchPages` pages (a TID
 * range), each its own short transaction. The owner is subject to `FORCE ROW
 * LEVEL SECURITY`, so as the owner a batch lifts FORCE and restores it before
 * it commits; that takes the table's `ACCESS EXCLUSIVE` lock for the batch
 * alone (readers and writers wait for one batch, not for the whole update).
 * As the owner a batch waits at most `lockTimeoutMs` for that lock (so that
 * it never queues other sessions behind a long transaction for longer), then
 * backs off and tries again. A role that bypasses row security (a
 * superuser, or the owner with `BYPASSRLS`) needs no FORCE lifted: its
 * batches lock only the rows they change and skip rows other transactions
 * hold (`SKIP LOCKED`), so they never wait for a lock and can never be part
 * of a deadlock with the application's units; its sweep repeats, backing
 * off, until a pass skipped nothing. Every batch is `READ COMMITTED` and is
 * tried again after a deadlock or serialization failure. Tags are computed
 * once per tenant of a batch. The pass ends with one sweep of the whole
 * table in a single statement (one snapshot; a
 * row updated meanwhile is followed to its new version: it catches rows that
 * moved behind the pass, e.g. a row not yet re-tagged that a session without
 * the rotation's previous proof updated); as the owner the sweep holds the
 * table lock for one read of the table, and writes little.
 * Services in step 1 keep working throughout: they read rows of either key,
 * and write (or update, through the rotation trigger) the new one.
 * Idempotent: rows already tagged with `keyId` are left alone.
 *
 * Rotation: (1) `installTenantKey(k2)` and deploy services with `tenantKey`
 * k2 and `previousTenantKey` k1 (they read rows tagged with either, write k2);
 * (2) `retagTenantRows(owner, 'k2')`; (3) deploy without `previousTenantKey`,
 * then {@link retireTenantKey}`(owner, 'k1')`, which removes k1 and moves the
 * rows a service still signing with k1 wrote after step 2. A proof under k1
 * opens rows still tagged with k1 even after k1 is removed: that is why
 * step 3 re-tags once more after the removal.
 *
 * @param options `onProgress` per table, `onBatch` per batch and sweep, batch size and lock waits
 * @returns the tables with the number of rows re-tagged in each
 * @throws {@link PostgresCoreError} `TENANT_KEY_NOT_INSTALLED` when `keyId` is not installed (nothing changed);
 *   `RETAG_LOCK_TIMEOUT` when a batch could not lock its table in `lockAttempts` tries, or `lockAttempts`
 *   sweeps still found rows locked by others (batches done stay done; run it again)
 * @example
 * ```ts
 * await retagTenantRows(ownerClient, 'k2', {
 *   onProgress: (p) => console.log(`${p.done}/${p.total} ${p.table}: ${p.rows} rows`),
 *   onBatch: (b) => console.log(`${b.table}: ${b.pagesDone}/${b.pages} pages`),
 * });
 * ```
 */
export async function retagTenantRows(db: Queryable, keyId: string, o: RetagTenantRowsOptions = {}): Promise<RetagProgress[]> {
  const { batchPages, lockTimeoutMs, lockAttempts } = retagSettings(keyId, o);
  const installed = await db.query('select 1 from stellaops_security.tenant_keys where key_id = $1', [keyId]);
  if (installed.rows.length === 0)
    throw new PostgresCoreError(
      'TENANT_KEY_NOT_INSTALLED',
      `tenant key "${keyId}" is not installed. Fix: installTenantKey first, then re-tag.`,
    );
  const tables = await db.query(
    `select format('%I.%I', n.nspname, c.relname) as name, pg_catalog.quote_ident((pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\\000'))[1]) as col
       from pg_catalog.pg_trigger t
       join pg_catalog.pg_class c on c.oid = t.tgrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where t.tgfoid = 'stellaops_security.fill_tenant_tag()'::pg_catalog.regprocedure and t.tgname like '%\\_tenant\\_tag\\_fill'
      order by 1`,
  );
  const bypass = await bypassesRowSecurity(db);
  const done: RetagProgress[] = [];
  for (const row of tables.rows) {
    const table = String(row.name);
    const rows = await retagTable(db, {
      table,
      column: String(row.col),
      keyId,
      batchPages,
      lockTimeoutMs,
      lockAttempts,
      bypass,
      onBatch: o.onBatch,
    });
    const progress: RetagProgress = { table, rows, done: done.length + 1, total: tables.rows.length };
    done.push(progress);
    o.onProgress?.(progress);
  }
  return done;
}

/** The batch settings of {@link RetagTenantRowsOptions} with their defaults; throws `INVALID_ARGUMENT` on a bad one (or a bad key id). */
function retagSettings(keyId: string, o: RetagTenantRowsOptions): { batchPages: number; lockTimeoutMs: number; lockAttempts: number } {
  const settings = { batchPages: o.batchPages ?? 1000, lockTimeoutMs: o.lockTimeoutMs ?? 2000, lockAttempts: o.lockAttempts ?? 30 };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) throw new PostgresCoreError('INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  if (!TENANT_KEY_ID_PATTERN.test(keyId))
    throw new PostgresCoreError('INVALID_ARGUMENT', 'tenant key id must be 1-32 letters, digits, "_" or "-"');
  return settings;
}

/** Options of {@link retireTenantKey}: the re-tag's, plus the key rows move to and how long to wait. */
export interface RetireTenantKeyOptions extends RetagTenantRowsOptions {
  /**
   * The key the rows move to (installed). Default: the newest installed key,
   * which must not be the one retired. Give it to back out of a rotation
   * (retire the newer key, rows back to the older one) or to finish a retire
   * that stopped after removing the key.
   */
  to?: string;
  /** How long to wait for the transactions open when the key was removed (default 60 000 ms), then `RETIRE_WAIT_TIMEOUT`. */
  waitTimeoutMs?: number;
  /** Called while waiting, with the number of those transactions still open. */
  onWait?: (open: number) => void;
}

/** What {@link retireTenantKey} did. */
export interface RetireResult {
  /** Whether this call removed the key (false: an earlier call removed it and stopped; this one finished its work). */
  readonly removed: boolean;
  /** The key the rows now carry. */
  readonly to: string;
  /** How many transactions (and prepared transactions) of this database open at the removal it waited for. */
  readonly waitedFor: number;
  /** The final re-tag: rows not yet on `to` (e.g. written by a service that still signed with the retired key) moved to it. */
  readonly tables: RetagProgress[];
}

/**
 * Key rotation, step 3 of 3: removes the key `keyId` and makes sure no row
 * is left behind on it. In order:
 *
 * 1. Picks the key rows move to (`to`, or the newest installed key) and
 *    removes `keyId`, in one transaction that locks the key table, so two
 *    retires at once can never remove every key. It refuses, with nothing
 *    changed, to remove the last key, to remove the newest key without an
 *    explicit `to` (the services sign with the newest key), and a key that is
 *    not installed unless `to` is given (resuming a retire that stopped).
 * 2. From the next statement on no proof under `keyId` verifies, so nothing
 *    new can be written with its tag. Waits for the transactions of this
 *    database that were open at the removal (their virtual transaction ids
 *    in `pg_locks`, and prepared transactions), since one of them may have
 *    verified a proof under the key already.
 * 3. Re-tags with `to` ({@link retagTenantRows}): this moves every row a
 *    lagging service wrote under `keyId` after step 2.
 *
 * After it returns, every tenant row carries its tenant's tag under an
 * installed key. When step 2 or 3 fails, the key stays removed and the error
 * (`RETIRE_INCOMPLETE`, the cause attached) says to run it again with `to`.
 * Run as the tables' owner on ONE connection (`pg.Client`), never a pool.
 *
 * @returns whether the key was removed now, the key the rows carry, and the rows the final re-tag moved
 * @throws {@link PostgresCoreError}, nothing changed: `TENANT_KEY_LAST` (no other key would remain),
 *   `TENANT_KEY_NEWEST` (`keyId` is the newest key and no `to` was given), `TENANT_KEY_NOT_INSTALLED`
 *   (`to` is not installed, or `keyId` is not and no `to` was given), `INVALID_ARGUMENT`;
 *   after the removal: `RETIRE_INCOMPLETE` (its cause `RETIRE_WAIT_TIMEOUT` when transactions open at the
 *   removal stayed open for `waitTimeoutMs`, or the re-tag's error)
 * @example
 * ```ts
 * // services deployed with tenantKey k2 and no previousTenantKey
 * const { tables } = await retireTenantKey(ownerClient, 'k1');
 * ```
 */
export async function retireTenantKey(db: Queryable, keyId: string, o: RetireTenantKeyOptions = {}): Promise<RetireResult> {
  retagSettings(keyId, o);
  const waitTimeoutMs = o.waitTimeoutMs ?? 60_000;
  if (!Number.isInteger(waitTimeoutMs) || waitTimeoutMs < 0)
    throw new PostgresCoreError('INVALID_ARGUMENT', 'waitTimeoutMs must be a non-negative integer');
  if (o.to !== undefined) {
    if (o.to === keyId) throw new PostgresCoreError('INVALID_ARGUMENT', `retiring key "${keyId}" cannot move rows to itself`);
    retagSettings(o.to, {});
  }
  await checkWaitPrivileges(db);
  const { to, removed } = await removeRetiredKey(db, keyId, o.to);
  try {
    const waitedFor = await waitForOpenTransactions(db, waitTimeoutMs, keyId, o.onWait);
    const tables = await retagTenantRows(db, to, o);
    return { removed, to, waitedFor, tables };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new PostgresCoreError(
      'RETIRE_INCOMPLETE',
      `tenant key "${keyId}" is removed, but rows written under it may not be on key "${to}" yet: ${reason} Fix: run the retire again with to "${to}" (stella-db tenant-key retire ${keyId} --to ${to}); it waits and re-tags.`,
      { cause: e },
    );
  }
}

/** Refuses (before anything changes) when this role cannot see the transactions it has to wait for. */
async function checkWaitPrivileges(db: Queryable): Promise<void> {
  const r = await db.query(
    `select pg_catalog.has_table_privilege('pg_catalog.pg_locks', 'select')
        and pg_catalog.has_table_privilege('pg_catalog.pg_stat_activity', 'select')
        and pg_catalog.has_table_privilege('pg_catalog.pg_prepared_xacts', 'select') as ok`,
  );
  if (r.rows[0]?.ok !== true)
    throw new PostgresCoreError(
      'INVALID_ARGUMENT',
      'retiring a tenant key waits for the open transactions, which needs SELECT on pg_catalog.pg_locks, pg_stat_activity and pg_prepared_xacts (PUBLIC has it by default). Nothing was changed. Fix: grant it to the owner role, or run the retire as a role that has it.',
    );
}

/**
 * Picks the key rows move to and removes `keyId`, in one transaction holding
 * the key table's lock (no concurrent retire or install between the check
 * and the removal). Refuses, with nothing changed, when that would leave no
 * key, remove the newest key without an explicit `to`, or when `keyId` is
 * not installed and no `to` says this resumes an earlier retire.
 */
async function removeRetiredKey(db: Queryable, keyId: string, to: string | undefined): Promise<{ to: string; removed: boolean }> {
  await db.query('begin');
  try {
    await db.query('lock table stellaops_security.tenant_keys in share row exclusive mode');
    const keys = (await db.query('select key_id from stellaops_security.tenant_keys order by created_at desc, key_id desc')).rows.map((r) =>
      String(r.key_id),
    );
    const installed = keys.includes(keyId);
    const target = to ?? keys[0];
    if (to !== undefined && !keys.includes(to))
      throw new PostgresCoreError(
        'TENANT_KEY_NOT_INSTALLED',
        `tenant key "${to}" is not installed. Nothing was changed. Fix: installTenantKey first, then retire.`,
      );
    if (!installed && to === undefined)
      throw new PostgresCoreError(
        'TENANT_KEY_NOT_INSTALLED',
        `tenant key "${keyId}" is not installed (installed: ${keys.join(', ') || 'none'}). Nothing was changed. Fix: check the key id; to finish a retire that removed it and then stopped, run it again with the key the rows move to (to, --to).`,
      );
    if (installed && keys.length === 1)
      throw new PostgresCoreError(
        'TENANT_KEY_LAST',
        `tenant key "${keyId}" is the only key installed: without it no proof verifies and every tenant row is unreadable. Nothing was changed. Fix: install the successor (installTenantKey), deploy the services with it, re-tag (retagTenantRows), then retire "${keyId}".`,
      );
    if (installed && to === undefined && target === keyId)
      throw new PostgresCoreError(
        'TENANT_KEY_NEWEST',
        `tenant key "${keyId}" is the newest key installed, the one the services sign with after a rotation. Nothing was changed. Fix: retire the older key (${keys.slice(1).join(', ')}); to back out of a rotation instead, name the key the rows move back to (to, --to).`,
      );
    if (installed) await db.query('delete from stellaops_security.tenant_keys where key_id = $1', [keyId]);
    await db.query('commit');
    return { to: target!, removed: installed };
  } catch (e) {
    await db.query('rollback').catch(() => undefined);
    throw e;
  }
}

/**
 * Waits until every transaction of this database open now (other than this
 * session's) has ended, like `CREATE INDEX CONCURRENTLY` does: their virtual
 * transaction ids in `pg_locks` (sessions of this database, by
 * `pg_stat_activity.datid`, which any role may read), and this database's
 * prepared transactions (which hold no virtual id). Returns how many there were.
 */
async function waitForOpenTransactions(db: Queryable, timeoutMs: number, keyId: string, onWait?: (open: number) => void): Promise<number> {
  const open = await db.query(
    `select coalesce((select pg_catalog.array_agg(l.virtualxid) from pg_catalog.pg_locks l
                      join pg_catalog.pg_stat_activity a on a.pid = l.pid
                     where l.locktype = 'virtualxid' and l.granted and l.pid <> pg_catalog.pg_backend_pid()
                       and a.datid = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())), '{}') as ids,
            coalesce((select pg_catalog.array_agg(gid) from pg_catalog.pg_prepared_xacts
                     where database = pg_catalog.current_database()), '{}') as gids`,
  );
  const { ids, gids } = open.rows[0] as { ids: string[]; gids: string[] };
  const still = async () =>
    (
      await db.query(
        `select coalesce((select pg_catalog.array_agg(pid order by pid) from pg_catalog.pg_locks
                           where locktype = 'virtualxid' and granted and virtualxid = any($1::text[])), '{}') as pids,
                coalesce((select pg_catalog.array_agg(gid) from pg_catalog.pg_prepared_xacts where gid = any($2::text[])), '{}') as gids`,
        [ids, gids],
      )
    ).rows[0] as { pids: number[]; gids: string[] };
  const deadline = performance.now() + timeoutMs;
  for (let left = await still(); left.pids.length + left.gids.length > 0; left = await still()) {
    onWait?.(left.pids.length + left.gids.length);
    if (performance.now() >= deadline) {
      const what = [
        left.pids.length > 0 ? `pid ${left.pids.join(', ')}` : '',
        left.gids.length > 0 ? `prepared ${left.gids.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      throw new PostgresCoreError(
        'RETIRE_WAIT_TIMEOUT',
        `${left.pids.length + left.gids.length} transaction(s) open when key "${keyId}" was removed are still open after ${timeoutMs} ms (${what}); one of them may still write a row under it. End them first (pg_stat_activity, pg_prepared_xacts show them).`,
      );
    }
    await sleep(100);
  }
  return ids.length + gids.length;
}

interface RetagTableArgs {
  table: string;
  column: string;
  keyId: string;
  batchPages: number;
  lockTimeoutMs: number;
  lockAttempts: number;
  /** The session bypasses row security (superuser, `BYPASSRLS`): no FORCE to lift, so no table lock. */
  bypass: boolean;
  onBatch?: (batch: RetagBatchProgress) => void;
}

/** Whether this session's role bypasses row security (a superuser or `BYPASSRLS`), so it sees every row without lifting FORCE. */
async function bypassesRowSecurity(db: Queryable): Promise<boolean> {
  const r = await db.query('select rolsuper or rolbypassrls as bypass from pg_catalog.pg_roles where rolname = current_user');
  return r.rows[0]?.bypass === true;
}

/**
 * Re-tags one table: a pass in page batches (what the table had when it
 * began; the bulk of the work, short locks), then one sweep of the whole
 * table in a single statement — one snapshot, so it also catches rows that
 * moved behind the pass meanwhile (a session without the rotation's previous
 * proof updating a row not yet re-tagged). Returns the rows re-tagged.
 */
async function retagTable(db: Queryable, a: RetagTableArgs): Promise<number> {
  let rows = 0;
  const pages = await tablePages(db, a.table);
  for (let first = 0; first < pages; first += a.batchPages) {
    rows += (await retagBatch(db, a, [first, first + a.batchPages])).changed;
    a.onBatch?.({ table: a.table, phase: 'batch', pagesDone: Math.min(first + a.batchPages, pages), pages, rows });
  }
  const total = await tablePages(db, a.table);
  rows += await sweep(db, a);
  a.onBatch?.({ table: a.table, phase: 'sweep', pagesDone: total, pages: total, rows });
  return rows;
}

/**
 * The final sweep. As the owner, one statement under the table lock. As a
 * role that bypasses row security, the batches skip rows other transactions
 * hold locked (they never wait for a row lock, so they can never be part of
 * a deadlock with the application's units): the sweep repeats, backing off,
 * until one pass found nothing it had to skip, and gives up with
 * `RETAG_LOCK_TIMEOUT` after `lockAttempts` passes. Returns the rows re-tagged.
 */
async function sweep(db: Queryable, a: RetagTableArgs): Promise<number> {
  let rows = 0;
  for (let pass = 1; ; pass++) {
    const r = await retagBatch(db, a, undefined);
    rows += r.changed;
    if (r.skipped === 0) return rows;
    if (pass >= a.lockAttempts)
      throw new PostgresCoreError(
        'RETAG_LOCK_TIMEOUT',
        `could not re-tag ${r.skipped} row(s) of ${a.table}: ${a.lockAttempts} sweeps found them locked by other transactions (a long transaction holds them). Rows done stay done. Fix: end the long transaction (pg_stat_activity shows it), then run the re-tag again.`,
      );
    await sleep(backoff(a, pass));
  }
}

async function tablePages(db: Queryable, table: string): Promise<number> {
  const r = await db.query(
    `select (pg_catalog.pg_relation_size($1::regclass) / pg_catalog.current_setting('block_size')::int)::int as pages`,
    [table],
  );
  return Number(r.rows[0]?.pages ?? 0);
}

/**
 * The re-tag statement of one batch (`range`, pages [first, end)) or of the
 * sweep (no range); `$1` is the key id, `$2`/`$3` the range's TIDs. Tags are
 * computed once per tenant found. As the owner (table lock held, nobody else
 * writes) one plain `UPDATE … FROM`. As a role that bypasses row security,
 * only rows it can lock at once (`SKIP LOCKED`); the sweep also counts the
 * rows it had to skip (`candidates`), in the same snapshot.
 */
function retagSql(a: RetagTableArgs, range: readonly [number, number] | undefined): string {
  const inRange = (alias: string): string => (range ? `${alias}ctid >= $2::tid and ${alias}ctid < $3::tid` : 'true');
  const tags = `tags as (
      select d.tenant, stellaops_security.tenant_tag(d.tenant, $1) as tag
        from (select distinct ${a.column}::text as tenant from ${a.table} where ${inRange('')}) d)`;
  const stale = `${a.table} t join tags on t.${a.column}::text = tags.tenant where ${inRange('t.')} and t.tenant_tag is distinct from tags.tag`;
  if (!a.bypass)
    return `with ${tags},
      changed as (
        update ${a.table} t set tenant_tag = tags.tag from tags
         where ${inRange('t.')} and t.${a.column}::text = tags.tenant and t.tenant_tag is distinct from tags.tag
        returning 1)
      select count(*)::int as changed from changed`;
  const counted = range === undefined;
  return `with ${tags},
      lockable as (select t.ctid as id, tags.tag from ${stale} for no key update of t skip locked),
      changed as (update ${a.table} t set tenant_tag = l.tag from lockable l where t.ctid = l.id returning 1)
      select (select count(*) from changed)::int as changed${counted ? `, (select count(*) from ${stale})::int as candidates` : ''}`;
}

/** The SQLSTATEs after which a batch (rolled back, idempotent) is simply tried again: lock timeout, deadlock, serialization. */
const RETRY_STATES = new Set(['55P03', '40P01', '40001']);

/** How long to wait before try `attempt` + 1 (grows to five times `lockTimeoutMs`, at most 5 s, with jitter). */
function backoff(a: RetagTableArgs, attempt: number): number {
  return Math.min(a.lockTimeoutMs, 1000) * Math.min(attempt, 5) * (0.5 + Math.random() / 2);
}

/**
 * Re-tags the rows on pages [first, end) (or the whole table) in one READ
 * COMMITTED transaction; retries (backing off) while the table lock is busy
 * or the transaction lost a deadlock or serialization conflict. As the owner
 * it lifts FORCE under the table's lock; as a role that bypasses row
 * security it locks only the rows it changes, skipping rows other
 * transactions hold (`SKIP LOCKED`: it never waits for a row lock) and
 * counting them as `skipped`.
 */
async function retagBatch(
  db: Queryable,
  a: RetagTableArgs,
  range: readonly [number, number] | undefined,
): Promise<{ changed: number; skipped: number }> {
  for (let attempt = 1; ; attempt++) {
    await db.query('begin isolation level read committed');
    try {
      await db.query(`select pg_catalog.set_config('lock_timeout', $1, true)`, [`${a.lockTimeoutMs}ms`]);
      if (!a.bypass) await db.query(`alter table ${a.table} no force row level security`);
      const r = await db.query(retagSql(a, range), range ? [a.keyId, `(${range[0]},0)`, `(${range[1]},0)`] : [a.keyId]);
      if (!a.bypass) await db.query(`alter table ${a.table} force row level security`);
      await db.query('commit');
      const changed = Number(r.rows[0]?.changed ?? 0);
      return { changed, skipped: Number(r.rows[0]?.candidates ?? changed) - changed };
    } catch (e) {
      await db.query('rollback').catch(() => undefined);
      if (!RETRY_STATES.has(String((e as { code?: string }).code))) throw e;
      if (attempt >= a.lockAttempts)
        throw new PostgresCoreError(
          'RETAG_LOCK_TIMEOUT',
          `could not lock ${a.table} to re-tag it: ${a.lockAttempts} tries of ${a.lockTimeoutMs} ms each found it busy (a long transaction holds a lock on it). Batches done stay done. Fix: end the long transaction (pg_stat_activity shows it), then run the re-tag again.`,
          { cause: e },
        );
      await sleep(backoff(a, attempt));
    }
  }
}
