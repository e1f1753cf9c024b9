import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../src/vitest/index.js';
import { itemsSchema } from './helpers/items-schema.js';

// isolation-a and isolation-b run at the same time in different workers, on
// the same template; each test must see only its own row.
const db = useTestDatabase({ migrations: itemsSchema });

describe('isolation (a)', () => {
  for (let i = 0; i < 6; i++) {
    it(`test ${i} sees only its own data`, async () => {
      const me = `a-${i}`;
      await db.pool.query('insert into items (owner) values ($1)', [me]);
      await db.pool.query('select pg_sleep(0.02)');
      const r = await db.pool.query<{ owner: string }>('select owner from items');
      expect(r.rows).toEqual([{ owner: me }]);
      expect(db.database).toMatch(/^fx_c_/);
    });
  }
});
