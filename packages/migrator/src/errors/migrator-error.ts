/**
 * Base class of every error the migrator throws. `code` is stable and
 * machine-readable (the CLI prints it in `--json` output); `cause` carries the
 * underlying driver error when there is one.
 */
export class MigratorError extends Error {
  /** Stable machine-readable code, e.g. `MIGRATION_FAILED`. */
  readonly code: string;

  /**
   * @param code stable machine-readable code
   * @param message human-readable message
   * @param options standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
