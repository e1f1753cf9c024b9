import { installTenantKey, securityMigrations, TenantKey, tenantIsolationSql } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { describe, expect, it } from 'vitest';
import { expectedTenantTagTable, TAGGED_POLICY_CHECK, TAGGED_POLICY_USING, tenantTagSchema } from '../src/index.js';

const db = useTestDatabase({ scope: 'test' });

describe('tenantTagSchema and the tagged policy texts', () => {
  it("match what tenantIsolationSql's output looks like in the catalog of a real database", async () => {
    await db.pool.query('create schema stellaops_security');
    for (const m of securityMigrations) await db.pool.query(m.up);
    await installTenantKey(db.pool, new TenantKey('k1', 'module-testkit-tag-schema-key-0123456789'));
    await db.pool.query('create schema kit');
    await db.pool.query('create table kit.items (tenant_id text not null, id int not null, primary key (tenant_id, id))');
    await db.pool.query('create table kit.plain (id int primary key)');
    for (const s of tenantIsolationSql({ schema: 'kit', table: 'items' })) await db.pool.query(s);
    expect(await tenantTagSchema(db.pool, 'kit')).toEqual([expectedTenantTagTable('items')]);
    const policy = await db.pool.query(`select qual, with_check from pg_policies where schemaname = 'kit'`);
    expect(policy.rows).toEqual([{ qual: TAGGED_POLICY_USING, with_check: TAGGED_POLICY_CHECK }]);
    // a table without the tag has no entry; a missing trigger shows
    await db.pool.query('drop trigger items_tenant_tag_retag on kit.items');
    expect((await tenantTagSchema(db.pool, 'kit'))[0]?.triggers).toEqual(['items_tenant_tag_fill', 'items_tenant_tag_rotate']);
  });
});
