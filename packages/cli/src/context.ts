/** A writable text stream (stdout/stderr or a test buffer). */
export interface TextSink {
  /** Writes text. */
  write(text: string): unknown;
  /** Whether it is a terminal. */
  isTTY?: boolean;
}

/** What commands need from the outside world; tests pass their own. */
export interface CliContext {
  /** Standard output: results (one JSON document with --json). */
  stdout: TextSink;
  /** Standard error: progress, warnings, errors in human mode. */
  stderr: TextSink;
  /** Environment variables (connection string from `Postgres__ConnectionString`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory (relative --dir/--config, module resolution). */
  cwd: string;
  /** Exit code the command chose; `main` returns it. */
  exitCode: number;
}

/** The context of a real process. */
export function processContext(): CliContext {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), exitCode: 0 };
}
