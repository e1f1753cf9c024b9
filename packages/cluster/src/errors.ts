/**
 * Base class of the errors of `@stellaops/cluster`. `code` is stable and
 * machine-readable; `cause` keeps the underlying error. Messages name the
 * problem and the fix and never contain a password or a private key.
 *
 * @example
 * ```ts
 * try { await cluster.up(); }
 * catch (e) { if (e instanceof MissingPackageError) console.error(e.installCommand); throw e; }
 * ```
 */
export class ClusterError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** A user input (memory size, setting override, port, environment) is not acceptable. */
export class InvalidClusterInputError extends ClusterError {
  /** Each problem found, one line each. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(
      'CLUSTER_INVALID_INPUT',
      problems.length === 1 ? problems[0]! : `${problems.length} problems:\n- ${problems.join('\n- ')}`,
      options,
    );
    this.problems = problems;
  }
}

/** PostgreSQL itself rejected the computed settings (checked with `postgres -C` before anything starts). */
export class SettingsRejectedError extends ClusterError {
  /** The server's own lines that say what is wrong. */
  readonly serverMessages: readonly string[];

  constructor(serverMessages: readonly string[], options?: { cause?: unknown }) {
    super(
      'CLUSTER_SETTINGS_REJECTED',
      `PostgreSQL rejects these settings (nothing was started):\n  ${serverMessages.join('\n  ')}\nFix: correct or drop the --set override (or --memory) named above.`,
      options,
    );
    this.serverMessages = serverMessages;
  }
}

/** A Debian package the cluster needs is not installed. */
export class MissingPackageError extends ClusterError {
  /** The Debian packages that are missing. */
  readonly packages: readonly string[];
  /** The exact command that installs them. */
  readonly installCommand: string;

  constructor(missing: readonly { pkg: string; binary: string }[]) {
    const packages = [...new Set(missing.map((m) => m.pkg))];
    const installCommand = `apt-get install -y ${packages.join(' ')}`;
    super(
      'CLUSTER_MISSING_PACKAGE',
      `The cluster needs ${missing.map((m) => `${m.binary} (Debian package ${m.pkg})`).join(', ')}, not found. Nothing was started. Fix: ${installCommand}`,
    );
    this.packages = packages;
    this.installCommand = installCommand;
  }
}

/** A component (server, PgBouncer, TLS) failed to start or stop; `logTail` holds its last log lines. */
export class ComponentError extends ClusterError {
  /** The component's name. */
  readonly component: string;
  /** Last lines of the component's log (secrets redacted), when there is one. */
  readonly logTail: string;

  constructor(component: string, message: string, logTail = '', options?: { cause?: unknown }) {
    super('CLUSTER_COMPONENT_FAILED', logTail ? `${message}\n--- ${component} log (tail) ---\n${logTail}` : message, options);
    this.component = component;
    this.logTail = logTail;
  }
}

/** The cluster's state folder is unusable (corrupted state or configuration, unsafe ownership). */
export class ClusterStateError extends ClusterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLUSTER_STATE', message, options);
  }
}
