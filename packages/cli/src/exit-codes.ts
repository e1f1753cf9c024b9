/** Exit codes of `stella-db` (documented in the README and in `--help`). */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The command failed (migration error, connection error, lock timeout…). */
  Failed: 1,
  /** Usage error (unknown option, missing --url, bad combination). */
  Usage: 2,
  /** Pending or drifted migrations found (`status --fail-on-pending`, `verify`). */
  PendingOrDrift: 3,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
