import type { Migration } from '@stellaops/migrator';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { describe, expect, it } from 'vitest';
import { templateMigrations } from '../src/index.js';

const migrations: Migration[] = [
  { id: 'V001_CreateNotes', up: 'create table notes.notes (id int primary key, body text)' },
  { id: 'V002_Seed', up: "insert into notes.notes values (1, 'hello')" },
];

// What a module package's tests do: one top-level await, then the fixture builds the template once per hash.
const set = await templateMigrations({ schema: 'notes', migrations });

describe('templateMigrations', () => {
  const db = useTestDatabase({ migrations: set });

  it('gives the fixture a name, a content hash and a migrate function', async () => {
    expect(set.name).toBe('notes');
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await templateMigrations({ schema: 'notes', migrations: [...migrations, { id: 'V003', up: 'select 1' }] })).hash).not.toBe(set.hash);
    const r = await db.pool.query('select body from notes.notes');
    expect(r.rows).toEqual([{ body: 'hello' }]);
    const t = await db.pool.query('select count(*)::int as n from notes._migrations');
    expect(t.rows[0].n).toBe(2);
  });
});
