import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { removeWhenOwnerGone } from '../src/providers/testcontainers-provider.js';

/**
 * A stand-in Docker Engine API on loopback (no Docker here): answers the calls
 * Testcontainers makes to connect and records the container removals asked for.
 */
async function fakeDockerEngine(): Promise<{ server: Server; host: string; removals: string[] }> {
  const removals: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '');
    if (req.method === 'DELETE' && path.startsWith('/containers/')) {
      removals.push(path);
      res.writeHead(204).end();
      return;
    }
    if (path.startsWith('/info')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ServerVersion: '27.0.0',
          OperatingSystem: 'fake',
          OSType: 'linux',
          Architecture: 'x86_64',
          NCPU: 2,
          MemTotal: 1 << 30,
          IndexServerAddress: 'https://index.docker.io/v1/',
          Labels: [],
        }),
      );
      return;
    }
    if (path.startsWith('/_ping')) {
      res.writeHead(200).end('OK');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, host: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, removals };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('container watchdog (Ryuk disabled)', () => {
  let engine: Awaited<ReturnType<typeof fakeDockerEngine>> | undefined;
  afterEach(() => {
    engine?.server.close();
    engine = undefined;
  });

  it('removes the container, forced with its volumes, when its owner is killed with SIGKILL', async () => {
    engine = await fakeDockerEngine();
    const env = { ...process.env, DOCKER_HOST: engine.host, TESTCONTAINERS_RYUK_DISABLED: 'true' };
    // an owner process that starts the watchdog as the provider does, then is killed before it can stop anything
    const owner = spawn(
      process.execPath,
      [
        '--conditions=@stellaops/source',
        '--import',
        'tsx',
        '-e',
        "import('./src/providers/testcontainers-provider.ts').then((m) => { m.removeWhenOwnerGone('deadbeef42'); console.log('ready'); setInterval(() => {}, 1000); })",
      ],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(owner.stdout, 'data');
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    await until(() => engine!.removals.length > 0, 'the watchdog to remove the container');
    expect(engine.removals).toEqual([expect.stringMatching(/^\/containers\/deadbeef42\?(?=.*force=true)(?=.*v=true)/)]);
  });

  it('leaves Docker alone after a normal release', async () => {
    engine = await fakeDockerEngine();
    const released = removeWhenOwnerGone('feedface', { ...process.env, DOCKER_HOST: engine.host, TESTCONTAINERS_RYUK_DISABLED: 'true' });
    released();
    // the watchdog reads "released" and exits; give it time to (wrongly) call the engine
    await new Promise((r) => setTimeout(r, 3000));
    expect(engine.removals).toEqual([]);
  });
});
