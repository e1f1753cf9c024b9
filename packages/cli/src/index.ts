/**
 * `@stellaops/cli`: the `stella-db` command line, as a library (tests and
 * embedding) — `main(args, ctx)` runs it, `createProgram(ctx)` builds it.
 * @packageDocumentation
 */
export { main } from './cli.js';
export { createProgram, CLI_VERSION } from './program.js';
export { ExitCode } from './exit-codes.js';
export { UsageError } from './usage-error.js';
export type { CliContext, TextSink } from './context.js';
export { processContext } from './context.js';
export { registerModule, resolveModule, modulePackageName, type ModuleLoader } from './modules/module-registry.js';
export { resolveConnection, CONNECTION_ENV } from './config/resolve-connection.js';
