import { describe, expect, it } from 'vitest';
import { decideProvider, FixtureConfigError, ProviderUnavailableError, resolveServerOptions } from '../src/index.js';

const noDocker: NodeJS.ProcessEnv = { HOME: '/nonexistent-home-for-test' };

describe('resolveServerOptions', () => {
  it('applies defaults when nothing is set', () => {
    const o = resolveServerOptions({}, {});
    expect(o.provider).toBe('auto');
    expect(o.url).toBeUndefined();
    expect(o.port).toBeUndefined();
    expect(o.image).toBe('postgres:16-alpine');
    expect(o.cacheDir).toMatch(/stellaops-test-pg16-/);
  });

  it('reads environment variables, case-insensitive provider', () => {
    const o = resolveServerOptions(
      {},
      { STELLAOPS_TEST_PG_PROVIDER: 'Embedded', STELLAOPS_TEST_PG_PORT: '54999', STELLAOPS_TEST_PG_CACHE_DIR: '/tmp/x' },
    );
    expect(o).toMatchObject({ provider: 'embedded', port: 54999, cacheDir: '/tmp/x' });
  });

  it('explicit options win over the environment', () => {
    const o = resolveServerOptions(
      { provider: 'embedded', port: 5 },
      { STELLAOPS_TEST_PG_PROVIDER: 'external', STELLAOPS_TEST_PG_PORT: '7' },
    );
    expect(o).toMatchObject({ provider: 'embedded', port: 5 });
  });

  it('lists every problem at once, with the fix', () => {
    let err: unknown;
    try {
      resolveServerOptions(
        {},
        {
          STELLAOPS_TEST_PG_PROVIDER: 'dockr',
          STELLAOPS_TEST_PG_PORT: '70000',
          STELLAOPS_TEST_PG_URL: 'mysql://x',
          STELLAOPS_TEST_PG_DOCKER_PROBE_MS: '-1',
        },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FixtureConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('provider "dockr"');
    expect(msg).toContain('allowed: auto, external, testcontainers, embedded');
    expect(msg).toContain('STELLAOPS_TEST_PG_PORT');
    expect(msg).toContain('not a postgres:// URL');
    expect(msg).toContain('STELLAOPS_TEST_PG_DOCKER_PROBE_MS');
  });

  it('external without a URL says which variable to set', () => {
    expect(() => resolveServerOptions({}, { STELLAOPS_TEST_PG_PROVIDER: 'external' })).toThrow(/set STELLAOPS_TEST_PG_URL=/);
  });
});

describe('decideProvider', () => {
  it('auto picks external when a URL is set', async () => {
    const d = await decideProvider({ provider: 'auto', url: 'postgres://u@h/db', dockerProbeTimeoutMs: 100 }, noDocker);
    expect(d.provider).toBe('external');
  });

  it('auto falls back to embedded when no Docker engine is announced', async () => {
    const d = await decideProvider({ provider: 'auto', url: undefined, dockerProbeTimeoutMs: 100 }, noDocker);
    expect(d).toMatchObject({ provider: 'embedded' });
    expect(d.reason).toMatch(/no Docker/);
  });

  it('auto asks Testcontainers when DOCKER_HOST is set, and falls back when nothing answers', async () => {
    // a closed loopback port: the runtime is announced but does not answer
    const d = await decideProvider(
      { provider: 'auto', url: undefined, dockerProbeTimeoutMs: 1500 },
      { ...noDocker, DOCKER_HOST: 'tcp://127.0.0.1:1' },
    );
    expect(d.provider).toBe('embedded');
  });

  it('testcontainers forced without Docker is an error naming the fix', async () => {
    const p = decideProvider({ provider: 'testcontainers', url: undefined, dockerProbeTimeoutMs: 100 }, noDocker);
    await expect(p).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(p).rejects.toThrow(/no Docker engine answers.*STELLAOPS_TEST_PG_PROVIDER=auto/s);
  });

  it('explicit embedded and external are taken as given', async () => {
    expect((await decideProvider({ provider: 'embedded', url: undefined, dockerProbeTimeoutMs: 1 }, noDocker)).provider).toBe('embedded');
    expect((await decideProvider({ provider: 'external', url: 'postgres://x@y/z', dockerProbeTimeoutMs: 1 }, noDocker)).provider).toBe(
      'external',
    );
  });
});
