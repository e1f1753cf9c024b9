import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../src/vitest/index.js';

const db = useTestDatabase({
  migrations: {
    name: 'smoke',
    hash: 'v1',
    migrate: async ({ connectionString }) => {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString });
      await c.connect();
      await c.query('create table items (id int primary key, label text not null)');
      await c.end();
    },
  },
});

describe('smoke', () => {
  it('has the migrated table, empty', async () => {
    const r = await db.pool.query('select count(*)::int as n from items');
    expect(r.rows[0].n).toBe(0);
    await db.pool.query("insert into items values (1, 'a')");
  });
  it('gets a fresh database per test', async () => {
    const r = await db.pool.query('select count(*)::int as n from items');
    expect(r.rows[0].n).toBe(0);
  });
});
