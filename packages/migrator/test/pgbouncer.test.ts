import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase, useTestServer } from '@stellaops/test-fixture/vitest';
import { PoolerDetectedError, SchemaMigrator } from '../src/index.js';
import { generateMigrations } from './helpers/generate.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find(
  (p) => spawnSync(p, ['--version']).status === 0,
);
const SKIP_REASON = 'pgbouncer is not installed (apt-get install -y pgbouncer); CI installs it';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function osUser(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', name]);
  const g = spawnSync('id', ['-g', name]);
  return r.status === 0 ? { uid: Number(r.stdout.toString().trim()), gid: Number(g.stdout.toString().trim()) } : undefined;
}

describe.skipIf(!PGBOUNCER)(`through PgBouncer transaction pooling${PGBOUNCER ? '' : ` — skipped: ${SKIP_REASON}`}`, () => {
  const server = useTestServer();
  const db = useTestDatabase({ scope: 'file' });
  let bouncer: ChildProcess | undefined;
  let dir = '';
  let pooledUrl = '';

  beforeAll(async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'migrator-pgbouncer-'));
    const target = new URL(db.connectionString);
    const password = decodeURIComponent(target.password);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${target.hostname} port=${target.port || 5432} user=${decodeURIComponent(target.username)}${password ? ` password=${password}` : ''}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        `unix_socket_dir = ${dir}`,
        'auth_type = any',
        'pool_mode = transaction',
        'default_pool_size = 4',
        'max_client_conn = 100',
        'ignore_startup_parameters = application_name,extra_float_digits,options',
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        '',
      ].join('\n'),
    );
    // PgBouncer refuses to run as root: run it as the `postgres` OS user when we are root.
    const asUser = process.getuid?.() === 0 ? (osUser('postgres') ?? osUser('nobody')) : undefined;
    if (asUser) {
      chownSync(dir, asUser.uid, asUser.gid);
      chownSync(join(dir, 'pgbouncer.ini'), asUser.uid, asUser.gid);
      chmodSync(dir, 0o700);
    }
    bouncer = spawn(PGBOUNCER as string, [join(dir, 'pgbouncer.ini')], { stdio: 'ignore', ...(asUser ?? {}) });
    pooledUrl = `postgres://${target.username}${target.password ? `:${target.password}` : ''}@127.0.0.1:${port}/${db.database}`;
    for (let i = 0; i < 100; i++) {
      const c = new pg.Client({ connectionString: pooledUrl });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.query('select 1');
        await c.end();
        return;
      } catch {
        await c.end().catch(() => {});
        await sleep(50);
      }
    }
    throw new Error(`pgbouncer did not start (server ${server.host}:${server.port})`);
  });

  afterAll(async () => {
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((r) => bouncer!.once('exit', r));
      bouncer.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to migrate through the pooler, leaves no lock and changes nothing; status still reads', async () => {
    const migrations = generateMigrations('pooled', 5);
    const viaPooler = new SchemaMigrator({ connectionString: pooledUrl, schema: 'pooled', migrations, lockWaitMs: 2_000 });
    for (let i = 0; i < 4; i++) await expect(viaPooler.up()).rejects.toThrow(PoolerDetectedError);
    const locks = await db.pool.query(
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    );
    expect(locks.rows[0].n).toBe(0);
    expect((await db.pool.query("select count(*)::int as n from pg_namespace where nspname = 'pooled'")).rows[0].n).toBe(0);
    const status = await viaPooler.status();
    expect(status.counts.pending).toBe(5);
    // The direct connection migrates at once: nothing was left locked behind the pooler.
    const direct = await new SchemaMigrator({
      connectionString: db.connectionString,
      schema: 'pooled',
      migrations,
      lockWaitMs: 2_000,
    }).up();
    expect(direct.results).toHaveLength(5);
    expect(direct.lockWaitMs).toBeLessThan(2_000);
    expect((await viaPooler.verify()).ok).toBe(true);
  });
});
