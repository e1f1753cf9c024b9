/**
 * Base class of the errors of `@stellaops/embedded-server`; `cause` holds the
 * underlying error where there is one.
 */
export class EmbeddedServerError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The TCP port asked for is taken by another process. */
export class PortInUseError extends EmbeddedServerError {
  /** The port that is in use. */
  readonly port: number;

  constructor(port: number, options?: { cause?: unknown }) {
    super(
      'EMBEDDED_PORT_IN_USE',
      `Port ${port} is already in use by another process. Fix: choose another port, or leave it unset so a free one is picked.`,
      options,
    );
    this.port = port;
  }
}

/** initdb or the server failed; `logTail` holds the last lines of its log. */
export class ServerStartError extends EmbeddedServerError {
  /** The last lines of the server log, for diagnosis. */
  readonly logTail: string;

  constructor(message: string, logTail: string, options?: { cause?: unknown }) {
    super('EMBEDDED_SERVER_START', logTail ? `${message}\n--- server log (tail) ---\n${logTail}` : message, options);
    this.logTail = logTail;
  }
}

/** The PostgreSQL binaries for this platform are missing or cannot run. */
export class BinariesUnavailableError extends EmbeddedServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EMBEDDED_BINARIES_UNAVAILABLE', message, options);
  }
}
