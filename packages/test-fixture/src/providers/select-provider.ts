import { ProviderUnavailableError } from '../errors/index.js';
import type { ResolvedServerOptions, ProviderName } from '../server/options.js';
import { probeDocker } from './docker-probe.js';
import { startEmbedded } from './embedded-provider.js';
import { startExternal } from './external-provider.js';
import type { StartedServer } from './started-server.js';
import { startTestcontainers } from './testcontainers-provider.js';

/** Which provider runs, and why (for the one log line per run). */
export interface ProviderDecision {
  provider: ProviderName;
  reason: string;
}

/**
 * Applies the `auto` rule: external if a URL is set, else Testcontainers if a
 * Docker engine answers within the probe timeout, else embedded. An explicit
 * `testcontainers` choice without Docker is an error, not a silent fallback.
 */
export async function decideProvider(
  o: Pick<ResolvedServerOptions, 'provider' | 'url' | 'dockerProbeTimeoutMs'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderDecision> {
  switch (o.provider) {
    case 'external':
      return { provider: 'external', reason: 'chosen by STELLAOPS_TEST_PG_PROVIDER' };
    case 'embedded':
      return { provider: 'embedded', reason: 'chosen by STELLAOPS_TEST_PG_PROVIDER' };
    case 'testcontainers': {
      const why = await probeDocker(o.dockerProbeTimeoutMs, env);
      if (why !== undefined) {
        throw new ProviderUnavailableError(
          'testcontainers',
          `STELLAOPS_TEST_PG_PROVIDER=testcontainers, but no Docker engine answers (${why}). ` +
            'Fix: start Docker (or set DOCKER_HOST), or set STELLAOPS_TEST_PG_PROVIDER=auto to fall back to the embedded server.',
        );
      }
      return { provider: 'testcontainers', reason: 'chosen by STELLAOPS_TEST_PG_PROVIDER' };
    }
    case 'auto': {
      if (o.url) return { provider: 'external', reason: 'auto: STELLAOPS_TEST_PG_URL is set' };
      const why = await probeDocker(o.dockerProbeTimeoutMs, env);
      if (why === undefined) return { provider: 'testcontainers', reason: 'auto: a Docker engine answered' };
      return { provider: 'embedded', reason: `auto: no Docker (${why})` };
    }
  }
}

/** Starts the server of the decided provider; `leaseId` names this user's claim on a shared embedded server. */
export function startProvider(decision: ProviderDecision, o: ResolvedServerOptions, leaseId: string): Promise<StartedServer> {
  switch (decision.provider) {
    case 'external':
      return startExternal(o.url!);
    case 'testcontainers':
      return startTestcontainers(o.image);
    case 'embedded':
      return startEmbedded(o.cacheDir, o.port, leaseId);
  }
}
