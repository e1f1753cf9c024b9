import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { CheckViolationError, UniqueViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  APP_ROLE,
  InvalidCronExpressionError,
  InvalidTimeZoneError,
  migrations,
  ScheduleRepository,
  WORKER_ROLE,
  type DB,
} from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Scheduler', roles: [APP_ROLE, WORKER_ROLE] });
let app: PostgresDataSource<DB>;
const FROM = new Date('2026-01-09T12:00:00Z'); // a Friday

beforeEach(() => {
  app = sources.open();
});

describe('ScheduleRepository', () => {
  it('creates, finds, lists, renames and deletes schedules; names are unique per tenant ignoring case', async () => {
    const repo = new ScheduleRepository(app.forTenant('acme'));
    const first = await repo.create({ name: 'First', cron: '*/15 * * * *', from: FROM, payload: { job: 'scan' } });
    expect(first).toMatchObject({
      tenant_id: 'acme',
      name: 'First',
      cron: '*/15 * * * *',
      time_zone: 'UTC',
      enabled: true,
      payload: { job: 'scan' },
    });
    expect(first.next_fire_at?.toISOString()).toBe('2026-01-09T12:15:00.000Z');
    await expect(repo.create({ name: 'FIRST', cron: '@daily' })).rejects.toBeInstanceOf(UniqueViolationError);
    await repo.create({ name: 'second', cron: '@daily' });
    expect((await repo.list()).map((r) => r.name)).toEqual(['First', 'second']);
    expect(await repo.rename(first.id, 'renamed')).toMatchObject({ id: first.id, name: 'renamed' });
    expect(await repo.delete(first.id)).toBe(true);
    expect(await repo.findById(first.id)).toBeUndefined();
    expect(await repo.delete(first.id)).toBe(false);
  });

  it('reads the cron expression in the schedule time zone (canonical IANA name) and validates both before any SQL', async () => {
    const repo = new ScheduleRepository(app.forTenant('acme'));
    const berlin = await repo.create({ name: 'weekday mornings', cron: '0 9 * * 1-5', timeZone: 'europe/berlin', from: FROM });
    expect(berlin.time_zone).toBe('Europe/Berlin');
    expect(berlin.next_fire_at?.toISOString()).toBe('2026-01-12T08:00:00.000Z'); // Monday 09:00 CET
    const bad = await repo.create({ name: 'bad', cron: '61 * * * *' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidCronExpressionError);
    expect((bad as Error).message).toMatch(/invalid cron expression "61 \* \* \* \*": .*61.*use five fields/);
    await expect(repo.create({ name: 'bad', cron: '* * * *' })).rejects.toThrow(/it has 4 fields, not 5/);
    await expect(repo.create({ name: 'bad', cron: '* * * * * *' })).rejects.toThrow(/it has 6 fields, not 5/);
    await expect(repo.create({ name: 'bad', cron: '@sometimes' })).rejects.toThrow(/unknown macro/);
    const zone = await repo.create({ name: 'bad', cron: '@daily', timeZone: 'Mars/Olympus_Mons' }).catch((e: unknown) => e);
    expect(zone).toBeInstanceOf(InvalidTimeZoneError);
    expect((zone as Error).message).toBe('unknown time zone "Mars/Olympus_Mons": use an IANA name such as "UTC" or "Europe/Berlin"');
    expect((await repo.list()).map((s) => s.name)).toEqual(['weekday mornings']);
  });

  it('disabling clears the next tick, enabling plans from now on, rescheduling recomputes it', async () => {
    const repo = new ScheduleRepository(app.forTenant('acme'));
    const s = await repo.create({ name: 'hourly', cron: '@hourly', from: FROM });
    expect(s.next_fire_at?.toISOString()).toBe('2026-01-09T13:00:00.000Z');
    expect(await repo.setEnabled(s.id, false)).toMatchObject({ enabled: false, next_fire_at: null });
    const later = new Date('2026-01-10T07:30:00Z');
    expect((await repo.setEnabled(s.id, true, later))?.next_fire_at?.toISOString()).toBe('2026-01-10T08:00:00.000Z');
    // already enabled: the next tick stays
    expect((await repo.setEnabled(s.id, true, new Date('2026-02-01T00:00:00Z')))?.next_fire_at?.toISOString()).toBe(
      '2026-01-10T08:00:00.000Z',
    );
    const moved = await repo.reschedule(s.id, { cron: '30 6 * * *', timeZone: 'America/New_York', from: later });
    expect(moved).toMatchObject({ cron: '30 6 * * *', time_zone: 'America/New_York' });
    expect(moved?.next_fire_at?.toISOString()).toBe('2026-01-10T11:30:00.000Z'); // 06:30 EST
    // the database keeps enabled and next_fire_at consistent
    await expect(
      app.forTenant('acme').updateTable('scheduler.schedules').set({ next_fire_at: null }).where('id', '=', s.id).execute(),
    ).rejects.toBeInstanceOf(CheckViolationError);
  });

  it('keeps tenants apart: another tenant sees and changes nothing, and without a tenant there are no rows', async () => {
    const acme = await new ScheduleRepository(app.forTenant('acme')).create({ name: 'mine', cron: '@daily' });
    const globex = new ScheduleRepository(app.forTenant('globex'));
    expect(await globex.findById(acme.id)).toBeUndefined();
    expect(await globex.rename(acme.id, 'stolen')).toBeUndefined();
    expect(await globex.setEnabled(acme.id, false)).toBeUndefined();
    expect(await globex.delete(acme.id)).toBe(false);
    expect(await globex.create({ name: 'mine', cron: '@daily' })).toMatchObject({ tenant_id: 'globex' });
    expect(await app.db.selectFrom('scheduler.schedules').selectAll().execute()).toEqual([]);
    await expect(
      app.db.insertInto('scheduler.schedules').values({ tenant_id: 'acme', name: 'x', cron: '@daily', next_fire_at: new Date() }).execute(),
    ).rejects.toMatchObject({ sqlState: '42501' });
    const all = await db.pool.query<{ tenant_id: string; name: string }>('select tenant_id, name from scheduler.schedules order by 1');
    expect(all.rows).toEqual([
      { tenant_id: 'acme', name: 'mine' },
      { tenant_id: 'globex', name: 'mine' },
    ]);
  });
});
