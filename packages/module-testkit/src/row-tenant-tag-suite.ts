import { createHash } from 'node:crypto';
import { installTenantKey, TenantKey, type PostgresDataSource } from '@stellaops/postgres-core';
import type { TestDatabaseHandle } from '@stellaops/test-fixture/vitest';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { ModuleRoles } from './module-roles.js';

/** What {@link rowTenantTagSuite} needs to know about a module. */
export interface RowTenantTagSuiteOptions<DB> {
  /** The module's test database (`useTestDatabase({ migrations: await templateMigrations(migrations) })`). */
  db: TestDatabaseHandle;
  /** The module's roles (`useModuleRoles`): rows are written and read as the first one, the app role. */
  roles: ModuleRoles<DB>;
  /** A tenant table with row tenant tags (`schema.table`), e.g. `notify.channels`. */
  table: string;
  /**
   * Writes at least one row of `tenant` into {@link table} through the
   * module's repositories, in that tenant's session, and resolves to what
   * they returned: no `tenant_tag` may appear in it, at any depth.
   */
  write(ds: PostgresDataSource<DB>, tenant: string): Promise<unknown>;
  /** An `INSERT` of one row of `tenant` into {@link table} that names no tag, run as the superuser (an owner's insert). */
  ownerInsert(tenant: string): string;
}

const OWNER_TENANT = 'acme';
const OTHER_TENANT = 'globex';

/**
 * Registers the real-database tests of a module table's row tenant tags
 * (postgres-core's `tenantIsolationSql`: `tenant_tag` = sha256 of the tenant's
 * proof, read policies compare it with `stellaops_security.session_tag()`):
 *
 * - a row written through the module's data source carries the tag of its
 *   tenant session, which is the sha256 of that tenant's proof;
 * - another tenant's session sees none of it, nor does a session that sets
 *   `app.tenant_id` to the row's tenant with another tenant's proof, or with
 *   none — while the tenant's own proof, or its proof given as the previous
 *   key's (`app.tenant_proof_previous`, a key rotation), sees it;
 * - a tenant session may not change a row's tag (`WITH CHECK`);
 * - during a key rotation (a second key installed) a session that signs with
 *   the new key and sends the old proof as the previous one can update rows
 *   still tagged with the old key, which then carry the new key's tag (the
 *   rotation trigger);
 * - an owner's insert that names no tag gets the tenant's tag from the fill
 *   trigger and is readable in the tenant's session;
 * - what the repositories returned for the write holds no `tenant_tag`.
 *
 * The forged sessions use a plain `pg` connection as the app role (the data
 * source refuses to set `app.tenant_id` itself). Call it at the top level of a
 * test file, after `useTestDatabase` and `useModuleRoles`.
 *
 * @example
 * ```ts
 * rowTenantTagSuite({ db, roles, table: 'notify.channels',
 *   write: (ds, tenant) => new ChannelRepository(ds.forTenant(tenant)).create({ name: 'ops', kind: 'email' }),
 *   ownerInsert: (tenant) => `insert into notify.channels (tenant_id, name, kind) values ('${tenant}', 'owner', 'email')` });
 * ```
 */
export function rowTenantTagSuite<DB>(o: RowTenantTagSuiteOptions<DB>): void {
  const key = (): TenantKey => new TenantKey(o.db.server.tenantKey.tenantKeyId, o.db.server.tenantKey.tenantKey);
  const tagOf = (tenant: string): Buffer => createHash('sha256').update(key().proofFor(tenant), 'utf8').digest();
  /** Rows of `tenant` as the superuser sees them: how many, and how many carry `tag`. */
  const stored = async (tenant: string, tag: Buffer): Promise<{ rows: number; tagged: number }> => {
    const r = await o.db.pool.query<{ rows: number; tagged: number }>(
      `select count(*)::int as rows, (count(*) filter (where tenant_tag = $2))::int as tagged from ${o.table} where tenant_id = $1`,
      [tenant, tag],
    );
    return r.rows[0]!;
  };
  /** Rows of the owner tenant a session sees. */
  const visible = async (db: Kysely<DB>): Promise<number> => {
    const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(o.table)} where tenant_id = ${OWNER_TENANT}`.execute(db);
    return r.rows[0]!.n;
  };
  /** Runs one statement in a raw app-role session with these settings (any tenant, any proof) and commits. */
  const asSession = async (
    settings: Record<string, string>,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<Record<string, unknown>>> => {
    const c = new pg.Client(o.roles.url());
    await c.connect();
    try {
      await c.query('begin');
      for (const [name, value] of Object.entries(settings)) await c.query('select set_config($1, $2, true)', [name, value]);
      const r = await c.query<Record<string, unknown>>(text, values);
      await c.query('commit');
      return r;
    } finally {
      await c.end();
    }
  };
  /** Rows of the owner tenant a raw app-role session sees with these settings. */
  const seenWith = async (settings: Record<string, string>): Promise<number> =>
    Number((await asSession(settings, `select count(*)::int as n from ${o.table} where tenant_id = $1`, [OWNER_TENANT])).rows[0]?.n);

  describe(`row tenant tags on ${o.table}`, () => {
    it("tags a row written in a tenant session with that session's tag, the sha256 of the tenant's proof", async () => {
      const ds = o.roles.open();
      const written = await o.write(ds, OWNER_TENANT);
      expect(written).toBeDefined();
      expect(tagPaths(written), 'the repositories return no tenant_tag').toEqual([]);
      const session = await sql<{ tag: Buffer }>`select stellaops_security.session_tag() as tag`.execute(ds.forTenant(OWNER_TENANT));
      const tag = session.rows[0]!.tag;
      expect(tag.equals(tagOf(OWNER_TENANT))).toBe(true);
      const { rows, tagged } = await stored(OWNER_TENANT, tag);
      expect(rows).toBeGreaterThan(0);
      expect(tagged).toBe(rows);
    });

    it("shows it to no other tenant, nor to a session claiming its tenant with another tenant's proof or none", async () => {
      const ds = o.roles.open();
      await o.write(ds, OWNER_TENANT);
      const { rows } = await stored(OWNER_TENANT, tagOf(OWNER_TENANT));
      expect(await visible(ds.forTenant(OTHER_TENANT))).toBe(0);
      const own = key().proofFor(OWNER_TENANT);
      const other = key().proofFor(OTHER_TENANT);
      // the raw session works: the tenant's own proof sees its rows, also as the previous key's proof (rotation)
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': own })).toBe(rows);
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': 'k0.0', 'app.tenant_proof_previous': own })).toBe(rows);
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': other })).toBe(0);
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': other, 'app.tenant_proof_previous': other })).toBe(0);
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': '' })).toBe(0);
      expect(await seenWith({ 'app.tenant_id': OWNER_TENANT })).toBe(0);
    });

    it("refuses a tenant session's change of a row's tag (the policy's WITH CHECK)", async () => {
      const ds = o.roles.open();
      await o.write(ds, OWNER_TENANT);
      const update = sql`update ${sql.table(o.table)} set tenant_tag = ${tagOf(OTHER_TENANT)} where tenant_id = ${OWNER_TENANT}`;
      await expect(update.execute(ds.forTenant(OWNER_TENANT))).rejects.toMatchObject({ sqlState: '42501' });
      const { rows, tagged } = await stored(OWNER_TENANT, tagOf(OWNER_TENANT));
      expect(tagged).toBe(rows);
    });

    it('during a key rotation, a unit updates rows not yet re-tagged (the previous-key proof) and they move to its tag', async () => {
      const ds = o.roles.open();
      await o.write(ds, OWNER_TENANT);
      // a new key is installed; the rows still carry the fixture key's tag
      const next = new TenantKey('rotation', 'module-testkit-rotation-key-0123456789-abcdef');
      await installTenantKey(o.db.pool, next);
      const nextTag = createHash('sha256').update(next.proofFor(OWNER_TENANT), 'utf8').digest();
      const { rows, tagged } = await stored(OWNER_TENANT, tagOf(OWNER_TENANT));
      expect(tagged).toBe(rows);
      const nextOnly = { 'app.tenant_id': OWNER_TENANT, 'app.tenant_proof': next.proofFor(OWNER_TENANT) };
      expect(await seenWith(nextOnly)).toBe(0);
      const rotating = { ...nextOnly, 'app.tenant_proof_previous': key().proofFor(OWNER_TENANT) };
      expect(await seenWith(rotating)).toBe(rows);
      const updated = await asSession(rotating, `update ${o.table} set tenant_id = tenant_id where tenant_id = $1`, [OWNER_TENANT]);
      expect(updated.rowCount).toBe(rows);
      expect(await stored(OWNER_TENANT, nextTag)).toEqual({ rows, tagged: rows });
      expect(await seenWith(nextOnly)).toBe(rows);
    });

    it("fills the tag of an owner's insert that names none; the tenant's session reads the row", async () => {
      const ds = o.roles.open();
      const before = await visible(ds.forTenant(OWNER_TENANT));
      await o.db.pool.query(o.ownerInsert(OWNER_TENANT));
      const { rows, tagged } = await stored(OWNER_TENANT, tagOf(OWNER_TENANT));
      expect(rows).toBe(before + 1);
      expect(tagged).toBe(rows);
      expect(await visible(ds.forTenant(OWNER_TENANT))).toBe(rows);
      expect(await visible(ds.forTenant(OTHER_TENANT))).toBe(0);
      expect(await visible(ds.db)).toBe(0);
    });
  });
}

/** Where `tenant_tag` appears as a key in `value` (objects and arrays, at any depth), e.g. `['[0].tenant_tag']`. */
function tagPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const at = Array.isArray(value) ? `${path}[${k}]` : `${path}${path ? '.' : ''}${k}`;
    return [...(k === 'tenant_tag' ? [at] : []), ...tagPaths(v, at)];
  });
}
