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
 * Removes a key id (after every service signs with its successor and
 * {@link retagTenantRows} moved the rows to it: a removed key's proofs still
 * open rows tagged with it). Returns whether it existed.
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

/**
 * Key rotation, step 2 of 3: re-tags every tenant row of every table made
 * tenant-isolated by `tenantIsolationSql` (found by its fill trigger) with the
 * key `keyId`, which must be installed. Run as the tables' owner on ONE
 * connection (`pg.Client`), never a pool: each table is one transaction
 * (`FORCE ROW LEVEL SECURITY` is lifted for its update and restored before
 * commit, so the table is locked while its rows change; readers wait, they
 * never see a half-tagged tenant). Tags are computed once per tenant, not per
 * row. Idempotent: rows already tagged with `keyId` are left alone.
 *
 * Rotation: (1) `installTenantKey(k2)` and deploy services with `tenantKey`
 * k2 and `previousTenantKey` k1 (they read rows tagged with either, write k2);
 * (2) `retagTenantRows(owner, 'k2')`; (3) deploy without `previousTenantKey`,
 * then `removeTenantKey(…, 'k1')`. A proof under k1 opens rows still tagged
 * with k1 even after k1 is removed: re-tag before you rely on the removal.
 *
 * @returns the tables with the number of rows re-tagged in each
 * @throws {@link PostgresCoreError} `TENANT_KEY_NOT_INSTALLED` when `keyId` is not installed (nothing changed)
 * @example
 * ```ts
 * await retagTenantRows(ownerClient, 'k2', (p) => console.log(`${p.done}/${p.total} ${p.table}: ${p.rows} rows`));
 * ```
 */
export async function retagTenantRows(
  db: Queryable,
  keyId: string,
  onProgress?: (progress: RetagProgress) => void,
): Promise<RetagProgress[]> {
  if (!TENANT_KEY_ID_PATTERN.test(keyId))
    throw new PostgresCoreError('INVALID_ARGUMENT', 'tenant key id must be 1-32 letters, digits, "_" or "-"');
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
  const done: RetagProgress[] = [];
  for (const row of tables.rows) {
    const table = String(row.name);
    const column = String(row.col);
    await db.query('begin');
    try {
      await db.query(`alter table ${table} no force row level security`);
      const r = await db.query(
        `with tags as (
           select d.tenant, stellaops_security.tenant_tag(d.tenant, $1) as tag
             from (select distinct ${column}::text as tenant from ${table}) d)
         , changed as (
           update ${table} t set tenant_tag = tags.tag from tags
            where t.${column}::text = tags.tenant and t.tenant_tag is distinct from tags.tag
           returning 1)
         select count(*)::int as n from changed`,
        [keyId],
      );
      await db.query(`alter table ${table} force row level security`);
      await db.query('commit');
      const progress: RetagProgress = { table, rows: Number(r.rows[0]?.n ?? 0), done: done.length + 1, total: tables.rows.length };
      done.push(progress);
      onProgress?.(progress);
    } catch (e) {
      await db.query('rollback').catch(() => undefined);
      throw e;
    }
  }
  return done;
}
