/** A command-line usage error: the CLI prints it and exits with code 2. */
export class UsageError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'USAGE';

  /**
   * @param message what is wrong with the invocation
   * @param options standard error options (`cause`)
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
