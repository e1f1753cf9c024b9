import { InvalidArgumentError } from 'commander';
import { MigrationFailedError } from '@stellaops/migrator';
import { redactSecrets } from '@stellaops/safe-text';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { describeError } from '../output/describe-error.js';
import { UsageError } from '../usage-error.js';

/** What a command produced: the JSON document, the human text, the exit code. */
export interface CommandOutcome {
  /** Fields of the `--json` document (besides `ok`, `command`, `exitCode`). */
  doc: Record<string, unknown>;
  /** Human-readable output for stdout. */
  human: string;
  /** Exit code. */
  exitCode: number;
}

/**
 * Runs the body of any `stella-db` command and prints its outcome: one JSON
 * document on stdout with `--json`, text otherwise. Errors print as
 * `{ ok: false, error }` (or on stderr) with exit code 2 for usage errors,
 * 1 for everything else; a usage error names the help of the command that
 * was run.
 *
 * @param command the command as typed after `stella-db`, e.g. `'up'` or
 *   `'migrate up'`; the JSON document's `command` is its last word
 * @example
 * .action(async (opts) => runCommand('migrate verify', opts, ctx, async () => ({ doc: {}, human: 'ok\n', exitCode: ExitCode.Ok })))
 */
export async function runCommand(
  command: string,
  opts: { json?: boolean | undefined },
  ctx: CliContext,
  body: () => Promise<CommandOutcome>,
): Promise<void> {
  const name = command.split(' ').at(-1) ?? command;
  try {
    const out = await body();
    ctx.exitCode = out.exitCode;
    if (opts.json)
      ctx.stdout.write(
        `${JSON.stringify({ ok: out.exitCode === ExitCode.Ok, command: name, exitCode: out.exitCode, ...out.doc }, null, 2)}\n`,
      );
    else ctx.stdout.write(out.human);
  } catch (error) {
    const exitCode = error instanceof UsageError ? ExitCode.Usage : ExitCode.Failed;
    ctx.exitCode = exitCode;
    const err = describeError(error);
    if (opts.json) {
      const results = error instanceof MigrationFailedError ? error.results : undefined;
      ctx.stdout.write(`${JSON.stringify({ ok: false, command: name, exitCode, error: err, ...(results ? { results } : {}) }, null, 2)}\n`);
    } else {
      ctx.stderr.write(`error: ${err.message}\n`);
      if (error instanceof MigrationFailedError && error.statement)
        ctx.stderr.write(`failing statement:\n  ${redactSecrets(error.statement).split('\n').join('\n  ')}\n`);
      if (exitCode === ExitCode.Usage) ctx.stderr.write(`(run "stella-db ${command} --help" for usage)\n`);
    }
  }
}

/**
 * Parses a non-negative integer option (a commander usage error otherwise).
 *
 * @example
 * new Command('x').option('--steps <n>', 'how many', parseNonNegativeInt);
 */
export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/**
 * Parses a positive integer option (a commander usage error otherwise).
 *
 * @example
 * new Command('x').option('--keep <n>', 'how many', parsePositiveInt);
 */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/**
 * A duration for people: `12 ms`, `1.2 s`, `-` when unknown.
 *
 * @example
 * formatMs(1234); // '1.2 s'
 */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
