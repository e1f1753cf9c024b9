import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptsConnections, findPgBouncer, freePort, serverRunAs, ServerStartError, startPgBouncer } from '../src/index.js';
import { skipUnlessInstalled } from '@stellaops/vitest-config';

const PGBOUNCER = findPgBouncer();
// needs Debian's pgbouncer (scripts/bootstrap.sh installs it): skipped without it here, a failure in CI
const skip = skipUnlessInstalled(PGBOUNCER ? [] : ['pgbouncer'], 'the startPgBouncer tests');
const root = mkdtempSync(join('/dev/shm', 'stella-bouncer-'));
chmodSync(root, 0o711); // PgBouncer's OS user must reach its folder

afterAll(() => rmSync(root, { recursive: true, force: true }));

const folder = (name: string): string => mkdtempSync(join(root, `${name}-`));

// Skipped only when a Debian package this suite drives is missing (`skip` above names it; scripts/bootstrap.sh
// installs it): skipUnlessInstalled warns on a developer machine and throws under CI, so CI never skips it.
describe.skipIf(skip)('startPgBouncer', () => {
  it('listens with the settings given (its admin console says so), keeps its config private, and is gone after stop', async () => {
    const dir = folder('ok');
    const deadPort = await freePort(); // no server behind it: the admin console answers on its own
    const secret = 'not-a-real-password-42';
    const bouncer = await startPgBouncer({
      binary: PGBOUNCER!,
      dir,
      runAs: serverRunAs(),
      databases: { stellaops: `host=127.0.0.1 port=${deadPort} user=app password=${secret}` },
      settings: { admin_users: 'admin', default_pool_size: '7' },
    });
    try {
      expect(statSync(join(dir, 'pgbouncer.ini')).mode & 0o077).toBe(0);
      const admin = new pg.Client({ host: '127.0.0.1', port: bouncer.port, user: 'admin', database: 'pgbouncer' });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ key: string; value: string }>('SHOW CONFIG');
        const config = Object.fromEntries(rows.map((r) => [r.key, r.value]));
        expect(config).toMatchObject({ pool_mode: 'transaction', default_pool_size: '7', listen_port: String(bouncer.port) });
        const dbs = await admin.query<{ name: string; port: number }>('SHOW DATABASES');
        expect(dbs.rows.find((r) => r.name === 'stellaops')).toMatchObject({ port: deadPort });
      } finally {
        await admin.end();
      }
    } finally {
      await bouncer.stop();
    }
    expect(await acceptsConnections(bouncer.port)).toBe(false);
  });

  it('a setting PgBouncer rejects fails the start with a ServerStartError', async () => {
    const err = await startPgBouncer({
      binary: PGBOUNCER!,
      dir: folder('bad'),
      runAs: serverRunAs(),
      databases: { '*': 'host=127.0.0.1 port=1' },
      settings: { pool_mode: 'no-such-mode' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerStartError);
    expect((err as Error).message).toMatch(/PgBouncer exited/);
  });

  it('a missing program fails the start at once', async () => {
    const err = await startPgBouncer({ binary: join(root, 'no-pgbouncer'), dir: folder('missing'), databases: {} }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServerStartError);
    expect((err as Error).message).toMatch(/could not run/);
  });
});
