import { existsSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureConfigError } from '../errors/index.js';

/** Where the test server comes from. */
export type ProviderName = 'external' | 'testcontainers' | 'embedded';

/** Provider choice: one of {@link ProviderName}, or `auto` (external if a URL is set, else Docker if it answers, else embedded). */
export type ProviderChoice = 'auto' | ProviderName;

/** Allowed values of the provider option. */
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'external', 'testcontainers', 'embedded'];

/** Options of the test server; every one has an environment variable. */
export interface TestServerOptions {
  /** `STELLAOPS_TEST_PG_PROVIDER`; default `auto`. */
  provider?: ProviderChoice;
  /** `STELLAOPS_TEST_PG_URL`: a server to use (provider `external`); its user needs CREATEDB. */
  url?: string;
  /** `STELLAOPS_TEST_PG_CACHE_DIR`: where the embedded server keeps its data between runs (tmpfs by default). */
  cacheDir?: string;
  /** `STELLAOPS_TEST_PG_PORT`: port for the embedded server; default a free one. */
  port?: number;
  /** `STELLAOPS_TEST_PG_IMAGE`: image for Testcontainers; default `postgres:16-alpine`. */
  image?: string;
  /** `STELLAOPS_TEST_PG_DOCKER_PROBE_MS`: how long to wait for a Docker engine to answer; default 3000. */
  dockerProbeTimeoutMs?: number;
  /** Where to say which provider ran; default `console.log`. */
  log?: (line: string) => void;
}

/** {@link TestServerOptions} with every default applied. */
export interface ResolvedServerOptions {
  provider: ProviderChoice;
  url: string | undefined;
  cacheDir: string;
  port: number | undefined;
  image: string;
  dockerProbeTimeoutMs: number;
  log: (line: string) => void;
}

/** Default cache folder: on tmpfs (`/dev/shm`) when writable, else the OS temp folder. */
export function defaultCacheDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  let base = tmpdir();
  try {
    if (existsSync('/dev/shm')) {
      accessSync('/dev/shm', constants.W_OK);
      base = '/dev/shm';
    }
  } catch {
    // not writable: keep the temp folder
  }
  // v2: leases, watchdog and superuser secret of this version; never shared with older fixtures
  return join(base, `stellaops-test-pg16-v2-${uid}`);
}

/**
 * Merges explicit options over environment variables over defaults and
 * validates them, listing every problem in one {@link FixtureConfigError}.
 */
export function resolveServerOptions(options: TestServerOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedServerOptions {
  const problems: string[] = [];
  const rawProvider = options.provider ?? env.STELLAOPS_TEST_PG_PROVIDER?.trim().toLowerCase() ?? 'auto';
  if (!PROVIDER_CHOICES.includes(rawProvider as ProviderChoice)) {
    problems.push(`provider "${rawProvider}" (STELLAOPS_TEST_PG_PROVIDER) is unknown; allowed: ${PROVIDER_CHOICES.join(', ')}.`);
  }
  const url = options.url ?? (env.STELLAOPS_TEST_PG_URL?.trim() || undefined);
  if (url !== undefined) {
    try {
      const u = new URL(url);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('protocol');
    } catch {
      problems.push('url (STELLAOPS_TEST_PG_URL) is not a postgres:// URL; expected postgres://user:password@host:port/database.');
    }
  }
  if (rawProvider === 'external' && url === undefined) {
    problems.push('provider "external" needs a server URL: set STELLAOPS_TEST_PG_URL=postgres://user:password@host:5432/postgres.');
  }
  let port = options.port;
  if (port === undefined && env.STELLAOPS_TEST_PG_PORT) port = Number(env.STELLAOPS_TEST_PG_PORT);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    problems.push(
      `port "${env.STELLAOPS_TEST_PG_PORT ?? port}" (STELLAOPS_TEST_PG_PORT) must be a whole number from 1 to 65535, or unset for a free port.`,
    );
  }
  let probe = options.dockerProbeTimeoutMs;
  if (probe === undefined && env.STELLAOPS_TEST_PG_DOCKER_PROBE_MS) probe = Number(env.STELLAOPS_TEST_PG_DOCKER_PROBE_MS);
  if (probe !== undefined && (!Number.isFinite(probe) || probe <= 0)) {
    problems.push('dockerProbeTimeoutMs (STELLAOPS_TEST_PG_DOCKER_PROBE_MS) must be a positive number of milliseconds.');
  }
  if (problems.length > 0) {
    throw new FixtureConfigError(`Invalid test database settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return {
    provider: rawProvider as ProviderChoice,
    url,
    cacheDir: options.cacheDir ?? (env.STELLAOPS_TEST_PG_CACHE_DIR?.trim() || defaultCacheDir()),
    port,
    image: options.image ?? (env.STELLAOPS_TEST_PG_IMAGE?.trim() || 'postgres:16-alpine'),
    dockerProbeTimeoutMs: probe ?? 3000,
    log: options.log ?? ((line) => console.log(line)),
  };
}
