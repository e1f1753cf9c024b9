import { PostgresCoreError } from './postgres-core-error.js';

/** One problem found while validating configuration. */
export interface ConfigProblem {
  /** Dotted path of the offending setting, e.g. `Persistence.Notify` or `Postgres.CommandTimeoutSeconds`. */
  readonly path: string;
  /** What is wrong, without the offending value when it could be a secret. */
  readonly message: string;
  /** The allowed values, when the setting is an enumeration. */
  readonly allowed?: readonly string[];
}

/**
 * Configuration is invalid. Lists **every** problem found (never only the first),
 * each with its path and, for enumerations, the allowed values.
 *
 * @example
 * ```ts
 * try { loadPersistenceOptions({ env: process.env }); }
 * catch (e) { if (e instanceof ConfigurationError) for (const p of e.problems) log.error(p); throw e; }
 * ```
 */
export class ConfigurationError extends PostgresCoreError {
  /** All problems found. */
  readonly problems: readonly ConfigProblem[];

  /**
   * @param problems every problem found (at least one)
   * @param options the underlying error, if any
   */
  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'INVALID_CONFIGURATION', ConfigurationError.format(problems), options);
    this.problems = problems;
  }

  /** Formats problems as a multi-line message. */
  static format(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}${p.allowed ? ` (allowed: ${p.allowed.join(', ')})` : ''}`);
    return `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
  }
}

/**
 * A connection string could not be parsed. The message shows the string with
 * its password redacted.
 */
export class InvalidConnectionStringError extends ConfigurationError {
  /**
   * @param problems what is wrong with the string
   * @param options the underlying error, if any
   */
  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(problems, { ...options, code: 'INVALID_CONNECTION_STRING' });
  }
}
