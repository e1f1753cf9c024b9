import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Places where a Docker (or compatible) engine announces itself. */
function dockerHints(env: NodeJS.ProcessEnv): boolean {
  if (env.DOCKER_HOST || env.TESTCONTAINERS_HOST_OVERRIDE || env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE) return true;
  const sockets = [
    '/var/run/docker.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
  ];
  if (env.XDG_RUNTIME_DIR) sockets.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'), join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  if (sockets.some((s) => existsSync(s))) return true;
  return existsSync(join(homedir(), '.testcontainers.properties'));
}

/**
 * Asks Testcontainers whether a container runtime answers, within `timeoutMs`.
 * Returns `undefined` when one does, else the reason it does not.
 * Where no socket, `DOCKER_HOST` or Testcontainers config exists at all, it
 * answers at once without loading Testcontainers.
 */
export async function probeDocker(timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (!dockerHints(env)) return 'no DOCKER_HOST, no Docker socket and no ~/.testcontainers.properties';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer from the container runtime within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const probe = import('testcontainers').then(
      async ({ getContainerRuntimeClient }) => {
        await getContainerRuntimeClient();
        return undefined;
      },
      (e: Error) => `testcontainers could not be loaded: ${e.message}`,
    );
    return await Promise.race([probe.catch((e: Error) => e.message), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
