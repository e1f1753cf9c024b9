import { ClusterError, InvalidClusterInputError, POOLER_RESET_MODES, type PoolerReset } from '@stellaops/cluster';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../../usage-error.js';

/** Commander collector for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs `fn`, turning a wrong cluster input into a usage error (exit code 2). */
export function asUsageError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidClusterInputError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

/** Help text of `--pooler-reset` (cluster up, cluster manifests). */
export const POOLER_RESET_HELP =
  'who cleans a server connection between two transactions: "driver" (default: the data layer, inside each unit; PgBouncer resets on disconnect) or "always" (PgBouncer DISCARD ALL after every transaction, for poolers that also serve other clients)';

/**
 * Commander parser of `--pooler-reset`.
 *
 * @throws InvalidArgumentError (commander: exit code 2) naming the accepted values
 */
export function parsePoolerReset(value: string): PoolerReset {
  const mode = POOLER_RESET_MODES.find((m) => m === value);
  if (mode === undefined) throw new InvalidArgumentError(`not a mode. Fix: give ${POOLER_RESET_MODES.join(' or ')}.`);
  return mode;
}

/** True for errors of the cluster package that already name the problem and the fix. */
export function isClusterError(e: unknown): e is ClusterError {
  return e instanceof ClusterError;
}
