import { CronExpressionParser } from 'cron-parser';
import { InvalidCronExpressionError, InvalidTimeZoneError, SchedulerError } from '../errors/scheduler-error.js';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@weekdays', '@weekends']);

/**
 * The canonical IANA name of a time zone, as Intl resolves it
 * (`europe/berlin` → `Europe/Berlin`).
 *
 * @throws {@link InvalidTimeZoneError} when Intl does not know it
 * @example
 * canonicalTimeZone('utc'); // 'UTC'
 */
export function canonicalTimeZone(timeZone: string): string {
  if (timeZone.trim() === '' || timeZone.length > 64) throw new InvalidTimeZoneError(timeZone);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch (error) {
    throw new InvalidTimeZoneError(timeZone, { cause: error });
  }
}

/**
 * A validated cron expression in a time zone: five fields (minute precision)
 * or a macro (`@daily`…), parsed by cron-parser.
 *
 * @example
 * ```ts
 * const cron = CronSchedule.parse('0 9 * * 1-5', 'Europe/Berlin');
 * cron.nextAfter(new Date('2026-01-09T12:00:00Z')); // 2026-01-12T08:00:00.000Z (Monday 09:00 in Berlin)
 * ```
 */
export class CronSchedule {
  /** The expression, trimmed. */
  readonly expression: string;
  /** The canonical time zone. */
  readonly timeZone: string;

  private constructor(expression: string, timeZone: string) {
    this.expression = expression;
    this.timeZone = timeZone;
  }

  /**
   * Validates `expression` in `timeZone`.
   *
   * @throws {@link InvalidCronExpressionError} or {@link InvalidTimeZoneError}
   */
  static parse(expression: string, timeZone = 'UTC'): CronSchedule {
    const zone = canonicalTimeZone(timeZone);
    const expr = expression.trim().replace(/\s+/g, ' ');
    const fields = expr.split(' ').length;
    if (expr === '') throw new InvalidCronExpressionError(expression, 'it is empty');
    if (expr.startsWith('@') ? !MACROS.has(expr) : fields !== 5) {
      throw new InvalidCronExpressionError(expression, expr.startsWith('@') ? 'unknown macro' : `it has ${fields} fields, not 5`);
    }
    try {
      CronExpressionParser.parse(expr, { tz: zone }).next();
    } catch (error) {
      throw new InvalidCronExpressionError(expression, error instanceof Error ? error.message : String(error), { cause: error });
    }
    return new CronSchedule(expr, zone);
  }

  /** The first tick strictly after `after`. */
  nextAfter(after: Date): Date {
    return CronExpressionParser.parse(this.expression, { tz: this.timeZone, currentDate: after }).next().toDate();
  }

  /**
   * The ticks in `[from, to]`, oldest first, at most `max` (the newest ones
   * when there are more, so a scheduler that was down catches up on the
   * latest ticks only).
   */
  ticksBetween(from: Date, to: Date, max: number): Date[] {
    if (!Number.isInteger(max) || max < 1) throw new SchedulerError('INVALID_ARGUMENT', 'max must be a positive integer');
    const ticks: Date[] = [];
    // walk back from `to` (inclusive: start 1 ms after it), so a long outage costs `max` steps, not one per missed tick
    const back = CronExpressionParser.parse(this.expression, { tz: this.timeZone, currentDate: new Date(to.getTime() + 1) });
    while (ticks.length < max) {
      const tick = back.prev().toDate();
      if (tick.getTime() < from.getTime()) break;
      ticks.unshift(tick);
    }
    return ticks;
  }
}
