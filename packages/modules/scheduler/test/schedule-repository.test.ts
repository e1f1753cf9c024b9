import { fixtureMigrations } from '@stellaops/migrator';
import { UniqueViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ScheduleRepository, migrations, type DB } from '../src/index.js';
import { enableAppLogin, OpenedSources } from './support/app-role.js';

const db = useTestDatabase({ migrations: await fixtureMigrations(migrations) });
const sources = new OpenedSources();
let app: PostgresDataSource<DB>;

beforeAll(async () => {
  await enableAppLogin(db.server.adminConnectionString);
});
beforeEach(() => {
  app = sources.open(db);
});
afterEach(() => sources.closeAll());

describe('ScheduleRepository', () => {
  it('creates, finds, lists, renames and deletes rows; names are unique per tenant ignoring case', async () => {
    const repo = new ScheduleRepository(app.forTenant('acme'));
    const first = await repo.create({ name: 'First' });
    expect(first).toMatchObject({ tenant_id: 'acme', name: 'First' });
    await expect(repo.create({ name: 'FIRST' })).rejects.toBeInstanceOf(UniqueViolationError);
    await repo.create({ name: 'second' });
    expect((await repo.list()).map((r) => r.name)).toEqual(['First', 'second']);
    expect(await repo.rename(first.id, 'renamed')).toMatchObject({ id: first.id, name: 'renamed' });
    expect(await repo.findById(first.id)).toMatchObject({ name: 'renamed' });
    expect(await repo.delete(first.id)).toBe(true);
    expect(await repo.findById(first.id)).toBeUndefined();
    expect(await repo.delete(first.id)).toBe(false);
  });

  it('keeps tenants apart: another tenant sees and changes nothing, and without a tenant there are no rows', async () => {
    const acme = await new ScheduleRepository(app.forTenant('acme')).create({ name: 'mine' });
    const globex = new ScheduleRepository(app.forTenant('globex'));
    expect(await globex.findById(acme.id)).toBeUndefined();
    expect(await globex.rename(acme.id, 'stolen')).toBeUndefined();
    expect(await globex.delete(acme.id)).toBe(false);
    expect(await globex.create({ name: 'mine' })).toMatchObject({ tenant_id: 'globex' });
    // no tenant set: row level security shows nothing and refuses inserts
    expect(await app.db.selectFrom('scheduler.schedules').selectAll().execute()).toEqual([]);
    await expect(app.db.insertInto('scheduler.schedules').values({ tenant_id: 'acme', name: 'x' }).execute()).rejects.toMatchObject({ sqlState: '42501' });
    const all = await db.pool.query<{ tenant_id: string; name: string }>('select tenant_id, name from scheduler.schedules order by 1');
    expect(all.rows).toEqual([
      { tenant_id: 'acme', name: 'mine' },
      { tenant_id: 'globex', name: 'mine' },
    ]);
  });
});
