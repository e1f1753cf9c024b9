// The schema the postgres-core tests run against: two tenant-isolated tables,
// owned by the superuser that migrates; a plain app role with DML grants only.
import type { Generated } from 'kysely';
import pg from 'pg';
import { ensureAppRole, tenantIsolationSql } from '../../src/index.js';

export const APP_ROLE = 'pgcore_test_app';
export const APP_PASSWORD = 'pgcore-test-app-pw';

export interface TestDB {
  items: { id: number; tenant_id: string; name: string; qty: Generated<number>; parent_id: number | null };
  notes: { id: Generated<number>; tenant_id: string; body: string };
  plain: { id: number; v: string };
}

/** Creates the app role (cluster-global, idempotent). */
export async function ensureTestRole(connectionString: string): Promise<void> {
  const c = new pg.Client(connectionString);
  await c.connect();
  try {
    await ensureAppRole(c, { role: APP_ROLE, password: APP_PASSWORD });
  } finally {
    await c.end();
  }
}

export const coreRlsMigrations = {
  name: 'pgcore-rls',
  hash: 'pgcore-rls-v3',
  migrate: async ({ connectionString }: { connectionString: string }): Promise<void> => {
    await ensureTestRole(connectionString);
    const c = new pg.Client(connectionString);
    await c.connect();
    try {
      await c.query(`
        create table items (
          id int primary key,
          tenant_id text not null,
          name text not null,
          qty int not null default 0 check (qty >= 0),
          parent_id int references items(id)
        );
        create index on items (tenant_id);
        create table notes (id serial primary key, tenant_id text not null, body text not null);
        create index on notes (tenant_id);
        create table plain (id int primary key, v text not null);
      `);
      for (const t of ['items', 'notes']) for (const s of tenantIsolationSql({ table: t })) await c.query(s);
      await c.query(`grant select, insert, update, delete on items, notes, plain to ${APP_ROLE}`);
      await c.query(`grant usage, select on all sequences in schema public to ${APP_ROLE}`);
    } finally {
      await c.end();
    }
  },
};
