/**
 * Base class of every error thrown by `@stellaops/postgres-core`.
 *
 * Catch this to handle any failure of the data layer; narrow with `instanceof`
 * on the subclasses. The original error (driver, socket, zod…) is kept as
 * `cause`. Messages never contain passwords or tenant data values.
 *
 * @example
 * ```ts
 * try { await ds.withTenant('acme', (trx) => insertUser(trx)); }
 * catch (e) { if (e instanceof UniqueViolationError) return conflict(e.constraint); throw e; }
 * ```
 */
export class PostgresCoreError extends Error {
  /** A stable, machine-readable error code (e.g. `UNIQUE_VIOLATION`). */
  readonly code: string;

  /**
   * @param code a stable machine-readable code
   * @param message a human-readable message (no secrets)
   * @param options the underlying error, if any
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}
