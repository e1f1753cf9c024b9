import { ClusterError, InvalidClusterInputError } from '@stellaops/cluster';
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

/** True for errors of the cluster package that already name the problem and the fix. */
export function isClusterError(e: unknown): e is ClusterError {
  return e instanceof ClusterError;
}
