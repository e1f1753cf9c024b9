/**
 * Base class of the errors of `@stellaops/monitoring`; `cause` holds the
 * underlying error where there is one.
 *
 * @example
 * ```ts
 * try { await startMonitoring(options); }
 * catch (e) { if (e instanceof MonitoringError) console.error(e.code, e.message); }
 * ```
 */
export class MonitoringError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The options given are invalid; the message lists every problem and its fix. */
export class MonitoringConfigError extends MonitoringError {
  /** Each problem found, one sentence each. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('MONITORING_CONFIG', `Invalid monitoring options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** A component (exporter or Prometheus) did not start; `logTail` holds the end of its log. */
export class MonitoringStartError extends MonitoringError {
  /** Which component failed. */
  readonly component: string;
  /** The last lines of the component's log (secrets redacted). */
  readonly logTail: string;

  constructor(component: string, message: string, logTail: string, options?: { cause?: unknown }) {
    super('MONITORING_START', logTail ? `${message}\n--- ${component} log (tail) ---\n${logTail}` : message, options);
    this.component = component;
    this.logTail = logTail;
  }
}
