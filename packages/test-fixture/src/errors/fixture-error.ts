/**
 * Base class of every error the fixture throws. Each message names the cause
 * and the fix; `cause` holds the underlying error where there is one.
 *
 * @example
 * ```ts
 * try { await startTestServer({ provider: 'external' }) }
 * catch (e) { if (e instanceof FixtureError) console.error(e.message) }
 * ```
 */
export class FixtureError extends Error {
  /** A stable machine-readable code, e.g. `FIXTURE_CONFIG`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A fixture option or environment variable has a value that cannot work. */
export class FixtureConfigError extends FixtureError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FIXTURE_CONFIG', message, options);
  }
}

/** The chosen provider cannot give a server here (no Docker, unreachable URL, …). */
export class ProviderUnavailableError extends FixtureError {
  /** The provider that failed. */
  readonly provider: string;

  constructor(provider: string, message: string, options?: { cause?: unknown }) {
    super('FIXTURE_PROVIDER_UNAVAILABLE', message, options);
    this.provider = provider;
  }
}

/**
 * The port asked for with `STELLAOPS_TEST_PG_PORT` is taken by another process;
 * `cause` is embedded-server's `PortInUseError`.
 */
export class FixturePortInUseError extends FixtureError {
  /** The port that is in use. */
  readonly port: number;

  constructor(port: number, options?: { cause?: unknown }) {
    super(
      'FIXTURE_PORT_IN_USE',
      `Port ${port} is already in use by another process, so the embedded PostgreSQL cannot listen on it. ` +
        'Fix: unset STELLAOPS_TEST_PG_PORT (a free port is then chosen) or set it to a free port.',
      options,
    );
    this.port = port;
  }
}

/** The migration function given for a template threw; the template was discarded, not marked ready. */
export class TemplateBuildError extends FixtureError {
  /** The migration set's name. */
  readonly migrationSet: string;

  constructor(migrationSet: string, message: string, options?: { cause?: unknown }) {
    super('FIXTURE_TEMPLATE_BUILD', message, options);
    this.migrationSet = migrationSet;
  }
}
