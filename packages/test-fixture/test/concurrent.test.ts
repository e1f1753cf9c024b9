import { describe, expect } from 'vitest';
import { databaseTest, useTestDatabase } from '../src/vitest/index.js';
import { itemsSchema } from './helpers/items-schema.js';

const test = databaseTest({ migrations: itemsSchema });
const seen = new Set<string>();

describe.concurrent('concurrent tests in one file', () => {
  for (let i = 0; i < 8; i++) {
    test(`concurrent ${i} has its own database`, async ({ db }) => {
      expect(seen.has(db.database)).toBe(false);
      seen.add(db.database);
      await db.pool.query('insert into items (owner) values ($1)', [`c-${i}`]);
      await db.pool.query('select pg_sleep(0.05)');
      const r = await db.kysely<{ items: { id: number; owner: string } }>().selectFrom('items').select('owner').execute();
      expect(r).toEqual([{ owner: `c-${i}` }]);
    });
  }
});

describe('file scope', () => {
  const shared = useTestDatabase({ migrations: itemsSchema, scope: 'file' });
  let first = '';
  test('first test writes', async () => {
    first = shared.database;
    await shared.pool.query("insert into items (owner) values ('file')");
  });
  test('second test sees the same database and its data', async () => {
    expect(shared.database).toBe(first);
    const r = await shared.pool.query('select count(*)::int as n from items');
    expect(r.rows[0].n).toBe(1);
  });
});
