import { CommanderError } from 'commander';
import { redactSecrets } from '@stellaops/safe-text';
import { processContext, type CliContext } from './context.js';
import { ExitCode } from './exit-codes.js';
import { createProgram, exitCodeOfCommanderError } from './program.js';

/**
 * Runs `stella-db` with `args` (without `node` and the script) and returns
 * the exit code; never calls `process.exit`. The bin script and tests call it.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(args: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeOfCommanderError(error);
    ctx.stderr.write(`error: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
    return ExitCode.Failed;
  }
}
