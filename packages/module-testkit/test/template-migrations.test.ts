import { computeMigrationsHash, resolveMigrations, type Migration } from '@stellaops/migrator';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { describe, expect, it } from 'vitest';
import { templateMigrations } from '../src/index.js';

const migrations: Migration[] = [
  { id: 'V001_CreateNotes', up: 'create table notes.notes (id int primary key, body text)' },
  { id: 'V002_Seed', up: "insert into notes.notes values (1, 'hello')" },
];

// What a module package's tests do: one top-level await, then the fixture builds the template once per hash.
const set = await templateMigrations({ schema: 'notes', migrations });
const bare = await templateMigrations({ schema: 'notes', migrations }, { security: false });

describe('templateMigrations', () => {
  const db = useTestDatabase({ migrations: set });

  it('gives the fixture a name, a content hash and a migrate function', async () => {
    expect(set.name).toBe('notes');
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    const changed = await templateMigrations({ schema: 'notes', migrations: [...migrations, { id: 'V003', up: 'select 1' }] });
    expect(changed.hash).not.toBe(set.hash);
    const r = await db.pool.query('select body from notes.notes');
    expect(r.rows).toEqual([{ body: 'hello' }]);
    const t = await db.pool.query('select count(*)::int as n from notes._migrations');
    expect(t.rows[0].n).toBe(2);
  });

  it("applies postgres-core's security set first and installs the fixture server's tenant key", async () => {
    const applied = await db.pool.query<{ n: number }>('select count(*)::int as n from stellaops_security._migrations');
    expect(applied.rows[0]!.n).toBeGreaterThan(0);
    const keys = await db.pool.query<{ key_id: string }>('select key_id from stellaops_security.tenant_keys');
    expect(keys.rows.map((k) => k.key_id)).toContain(db.server.tenantKey.tenantKeyId);
  });
});

describe('templateMigrations with security: false', () => {
  const bareDb = useTestDatabase({ migrations: bare });

  it('is keyed by the module migrations alone', async () => {
    expect(bare.hash).toBe(computeMigrationsHash('notes', '_migrations', await resolveMigrations(migrations)));
    expect(bare.hash).not.toBe(set.hash);
  });

  it('builds only the module schema', async () => {
    const r = await bareDb.pool.query<{ n: number }>("select count(*)::int as n from pg_namespace where nspname = 'stellaops_security'");
    expect(r.rows[0]!.n).toBe(0);
    expect((await bareDb.pool.query('select body from notes.notes')).rows).toEqual([{ body: 'hello' }]);
  });
});
