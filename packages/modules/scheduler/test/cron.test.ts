import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, CronSchedule, InvalidTimeZoneError } from '../src/index.js';

describe('CronSchedule', () => {
  it('lists the ticks in a window, oldest first, keeping the newest when there are more than max', () => {
    const cron = CronSchedule.parse('*/10 * * * *');
    const from = new Date('2026-01-10T10:00:00Z');
    const to = new Date('2026-01-10T10:45:00Z');
    expect(cron.ticksBetween(from, to, 100).map((d) => d.toISOString().slice(11, 16))).toEqual([
      '10:00',
      '10:10',
      '10:20',
      '10:30',
      '10:40',
    ]);
    expect(cron.ticksBetween(from, to, 2).map((d) => d.toISOString().slice(11, 16))).toEqual(['10:30', '10:40']);
    expect(cron.ticksBetween(new Date('2026-01-10T10:01:00Z'), new Date('2026-01-10T10:09:00Z'), 5)).toEqual([]);
    // a year of missed minutes costs max steps, not 525,600
    expect(
      CronSchedule.parse('* * * * *')
        .ticksBetween(new Date('2025-01-01T00:00:00Z'), to, 3)
        .map((d) => d.toISOString()),
    ).toEqual(['2026-01-10T10:43:00.000Z', '2026-01-10T10:44:00.000Z', '2026-01-10T10:45:00.000Z']);
  });

  it('follows the time zone across a daylight saving change', () => {
    const cron = CronSchedule.parse('0 9 * * *', 'Europe/Berlin');
    expect(cron.nextAfter(new Date('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T07:00:00.000Z'); // CEST from 29 March
    expect(cron.nextAfter(new Date('2026-03-27T12:00:00Z')).toISOString()).toBe('2026-03-28T08:00:00.000Z'); // still CET
  });

  it('validates time zones against Intl', () => {
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    for (const bad of ['', 'Nowhere/City', 'UTC+25']) expect(() => canonicalTimeZone(bad), bad).toThrow(InvalidTimeZoneError);
  });
});
