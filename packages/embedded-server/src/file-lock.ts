import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Holds a cross-process lock on `path` (a `<path>.lock` folder, stale after
 * 10 s if its holder died) while `fn` runs.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const release = await lockfile.lock(path, {
    realpath: false,
    stale: 10_000,
    retries: { retries: 600, minTimeout: 25, maxTimeout: 100, factor: 1.2 },
    onCompromised: (err) => console.warn(`[embedded-server] lock on ${path} compromised: ${err.message}`),
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
