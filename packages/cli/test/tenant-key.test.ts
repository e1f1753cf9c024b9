import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { installTenantKey, securityMigrations, TenantKey, tenantIsolationSql } from '@stellaops/postgres-core';
import { runCli } from './helpers.js';

const db = useTestDatabase({ scope: 'test' });
const K1 = new TenantKey('k1', 'cli-test-tenant-key-one-0123456789-abcdefgh');
const K2 = new TenantKey('k2', 'cli-test-tenant-key-two-0123456789-abcdefgh');

/** The security schema, one key and a tagged table with rows of two tenants (tagged by the fill trigger). */
async function taggedDatabase(): Promise<void> {
  await db.pool.query('create schema stellaops_security');
  for (const m of securityMigrations) await db.pool.query(m.up);
  await installTenantKey(db.pool, K1);
  await db.pool.query('create table items (tenant_id text not null, id int not null, primary key (tenant_id, id))');
  for (const s of tenantIsolationSql({ table: 'items' })) await db.pool.query(s);
  await db.pool.query(`insert into items (tenant_id, id) values ('a', 1), ('a', 2), ('b', 1)`);
}

/** Whether every row's tag is its tenant's under `keyId`. */
async function taggedWith(keyId: string): Promise<boolean> {
  const r = await db.pool.query(`select bool_and(tenant_tag = stellaops_security.tenant_tag(tenant_id, $1)) as ok from items`, [keyId]);
  return r.rows[0].ok === true;
}

describe('stella-db tenant-key (real PostgreSQL)', () => {
  it('retag --to moves every tagged row to the new key, with progress; idempotent; list shows ids only', async () => {
    await taggedDatabase();
    await installTenantKey(db.pool, K2);
    expect(await taggedWith('k1')).toBe(true);
    const list = await runCli(['tenant-key', 'list', '--url', db.connectionString, '--json']);
    expect(list.code).toBe(0);
    expect(list.json).toMatchObject({ ok: true, command: 'list', keyIds: ['k1', 'k2'] });
    expect(list.stdout).not.toContain('cli-test-tenant-key');

    const retag = await runCli(['tenant-key', 'retag', '--to', 'k2', '--url', db.connectionString]);
    expect(retag.code).toBe(0);
    expect(retag.stderr).toContain('[1/1] public.items: 3 row(s) re-tagged');
    // batch progress: the batched pass re-tags, the sweep finds nothing more
    expect(retag.stderr).toMatch(/^ {2}public\.items batches: 1\/1 pages, 3 row\(s\) re-tagged$/m);
    expect(retag.stderr).toMatch(/^ {2}public\.items sweep: \d+\/\d+ pages, 3 row\(s\) re-tagged$/m);
    expect(retag.stdout).toMatch(/TABLE\s+ROWS RE-TAGGED/);
    expect(retag.stdout).toContain('3 row(s) in 1 table(s) now tagged with key k2');
    expect(await taggedWith('k2')).toBe(true);

    const again = await runCli(['tenant-key', 'retag', '--to', 'k2', '--url', db.connectionString, '--json']);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ ok: true, command: 'retag', keyId: 'k2', rows: 0, tables: [{ table: 'public.items', rows: 0 }] });
    expect(again.stderr).toBe('');
  });

  it('refuses a key that is not installed or not an id, and changes nothing', async () => {
    await taggedDatabase();
    const missing = await runCli(['tenant-key', 'retag', '--to', 'k9', '--url', db.connectionString]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('tenant key "k9" is not installed');
    expect(missing.stderr).toContain('install it first');
    const badBatch = await runCli(['tenant-key', 'retag', '--to', 'k2', '--batch-pages', '0', '--url', db.connectionString]);
    expect(badBatch.code).not.toBe(0);
    expect(badBatch.stderr).toMatch(/--batch-pages.*expected a positive integer/);
    const bad = await runCli(['tenant-key', 'retag', '--to', 'no.dots', '--url', db.connectionString]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a key id is 1-32 letters');
    expect(await taggedWith('k1')).toBe(true);
  });

  it('retire removes the old key and moves rows still on it; refuses, changing nothing, the last key, the newest key, a typo', async () => {
    await taggedDatabase();
    const last = await runCli(['tenant-key', 'retire', 'k1', '--url', db.connectionString]);
    expect(last.code).toBe(2);
    expect(last.stderr).toContain('"k1" is the only key installed');
    expect(last.stderr).toContain('Nothing was changed');
    await installTenantKey(db.pool, K2);
    const newest = await runCli(['tenant-key', 'retire', 'k2', '--url', db.connectionString]);
    expect(newest.code).toBe(2);
    expect(newest.stderr).toContain('"k2" is the newest key installed');
    const typo = await runCli(['tenant-key', 'retire', 'k3', '--url', db.connectionString]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('"k3" is not installed (installed: k2, k1)');
    const retag = await runCli(['tenant-key', 'retag', '--to', 'k2', '--url', db.connectionString, '--no-progress']);
    expect(retag.code).toBe(0);
    // a row written under k1 after the re-tag (a service that still signed with k1 alone)
    await db.pool.query(`update items set tenant_tag = stellaops_security.tenant_tag(tenant_id, 'k1') where tenant_id = 'a' and id = 2`);
    expect(await taggedWith('k2')).toBe(false);

    const retire = await runCli(['tenant-key', 'retire', 'k1', '--url', db.connectionString]);
    expect(retire.code).toBe(0);
    expect(retire.stdout).toContain('key k1 removed; waited for');
    expect(retire.stdout).toContain('1 row(s) not yet on key k2 moved to it');
    expect(retire.stderr).toContain('[1/1] public.items: 1 row(s) re-tagged');
    expect(await taggedWith('k2')).toBe(true);
    const list = await runCli(['tenant-key', 'list', '--url', db.connectionString, '--json']);
    expect(list.json).toMatchObject({ keyIds: ['k2'] });

    // again: k1 is gone; only with --to does it resume (wait and re-tag)
    const gone = await runCli(['tenant-key', 'retire', 'k1', '--url', db.connectionString]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('run it again with the key the rows move to');
    const again = await runCli(['tenant-key', 'retire', 'k1', '--to', 'k2', '--url', db.connectionString, '--json']);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ ok: true, command: 'retire', keyId: 'k1', removed: false, to: 'k2', rows: 0 });
    const badTo = await runCli(['tenant-key', 'retire', 'k2', '--to', 'k9', '--url', db.connectionString]);
    expect(badTo.code).toBe(2);
    expect(badTo.stderr).toContain('tenant key "k9" is not installed');
    const badWait = await runCli(['tenant-key', 'retire', 'k2', '--wait-timeout', 'soon', '--url', db.connectionString]);
    expect(badWait.code).not.toBe(0);
    expect(badWait.stderr).toMatch(/--wait-timeout/);
    expect(await runCli(['tenant-key', 'list', '--url', db.connectionString, '--json'])).toMatchObject({ json: { keyIds: ['k2'] } });
  });

  it('retire stops with exit 1 when a transaction open at the removal stays open, naming it and the way to finish', async () => {
    await taggedDatabase();
    await installTenantKey(db.pool, K2);
    const open = await db.pool.connect();
    try {
      await open.query('begin');
      await open.query('select 1');
      const pid = (await open.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const stuck = await runCli(['tenant-key', 'retire', 'k1', '--wait-timeout', '300', '--url', db.connectionString]);
      expect(stuck.code).toBe(1);
      expect(stuck.stderr).toContain(`(pid ${pid})`);
      expect(stuck.stderr).toContain('tenant key "k1" is removed');
      expect(stuck.stderr).toContain('stella-db tenant-key retire k1 --to k2');
      expect(stuck.stderr).toMatch(/waiting for 1 transaction\(s\) open when key k1 was removed/);
      await open.query('rollback');
      const done = await runCli(['tenant-key', 'retire', 'k1', '--to', 'k2', '--url', db.connectionString]);
      expect(done.code).toBe(0);
      expect(await taggedWith('k2')).toBe(true);
    } finally {
      await open.query('rollback').catch(() => undefined);
      open.release();
    }
  });
});
