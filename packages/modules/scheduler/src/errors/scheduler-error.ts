/** Stable codes of {@link SchedulerError}. */
export type SchedulerErrorCode = 'INVALID_CRON_EXPRESSION' | 'INVALID_TIME_ZONE' | 'INVALID_ARGUMENT';

/**
 * The base of Scheduler's own errors (bad input caught before the database).
 * Database errors arrive as postgres-core's typed errors (`CheckViolationError`
 * for a refused run transition, constraint `runs_status_transition`).
 */
export class SchedulerError extends Error {
  /** Stable machine-readable code. */
  readonly code: SchedulerErrorCode;

  /**
   * @param code stable code
   * @param message what is wrong and how to fix it
   * @param options standard error options (`cause`)
   */
  constructor(code: SchedulerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SchedulerError';
    this.code = code;
  }
}

/** A cron expression cron-parser refuses, or one with a field count Scheduler does not take. */
export class InvalidCronExpressionError extends SchedulerError {
  /** The expression as given. */
  readonly expression: string;

  /**
   * @param expression the expression as given
   * @param reason why it is refused
   * @param options standard error options (`cause`: cron-parser's error)
   */
  constructor(expression: string, reason: string, options?: { cause?: unknown }) {
    super(
      'INVALID_CRON_EXPRESSION',
      `invalid cron expression ${JSON.stringify(expression)}: ${reason}; use five fields "minute hour day-of-month month day-of-week" (e.g. "*/15 * * * *") or @hourly, @daily, @weekly, @monthly, @yearly`,
      options,
    );
    this.name = 'InvalidCronExpressionError';
    this.expression = expression;
  }
}

/** A time zone Intl does not know. */
export class InvalidTimeZoneError extends SchedulerError {
  /** The time zone as given. */
  readonly timeZone: string;

  /**
   * @param timeZone the time zone as given
   * @param options standard error options (`cause`: Intl's RangeError)
   */
  constructor(timeZone: string, options?: { cause?: unknown }) {
    super('INVALID_TIME_ZONE', `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as "UTC" or "Europe/Berlin"`, options);
    this.name = 'InvalidTimeZoneError';
    this.timeZone = timeZone;
  }
}
