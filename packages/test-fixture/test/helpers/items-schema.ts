import pg from 'pg';
import type { TemplateMigrations } from '../../src/index.js';

/** A small schema shared by the isolation tests (same hash: one template for all files). */
export const itemsSchema: TemplateMigrations = {
  name: 'items',
  hash: 'items-v1',
  migrate: async ({ connectionString }) => {
    const c = new pg.Client({ connectionString });
    await c.connect();
    await c.query('create table items (id serial primary key, owner text not null)');
    await c.end();
  },
};
