import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Cluster,
  ClusterError,
  type ClusterComponent,
  ClusterStateError,
  MissingPackageError,
  parseMemory,
  SettingsRejectedError,
} from '../src/index.js';
import { rejection, startTestCluster, withClient, type TestCluster } from './helpers.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startTestCluster();
});
afterAll(async () => {
  await t?.destroy();
});

function psql(conninfo: string, sql: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync('psql', [conninfo, '-AtXc', sql], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the running server', () => {
  it('reports the computed settings (SHOW)', async () => {
    await withClient(t.config('owner', 'direct'), async (c) => {
      const show = async (n: string) => String((await c.query(`show ${n}`)).rows[0]?.[n]);
      expect(await show('max_connections')).toBe('100');
      expect(await show('shared_buffers')).toBe('256MB');
      expect(await show('work_mem')).toBe('64MB');
      expect(await show('maintenance_work_mem')).toBe('512MB');
      expect(await show('wal_level')).toBe('replica');
      expect(await show('max_wal_size')).toBe('2GB');
      expect(await show('password_encryption')).toBe('scram-sha-256');
      expect(await show('ssl')).toBe('on');
      expect(await show('archive_mode')).toBe('on');
      expect(await show('archive_library')).toBe('basic_archive');
      expect(await show('log_lock_waits')).toBe('on');
    });
    const admin = await t.admin();
    try {
      expect((await admin.query('show shared_preload_libraries')).rows[0].shared_preload_libraries).toBe('pg_stat_statements');
    } finally {
      await admin.end();
    }
    const status = await t.cluster.status();
    expect(status.healthy).toBe(true);
    expect(status.differingSettings).toEqual([]);
  });

  it('records statements in pg_stat_statements', async () => {
    const marker = `select 42 as stat_marker_${Date.now()}`;
    await withClient(t.config('app', 'pgbouncer'), (c) => c.query(marker));
    const admin = await t.admin('stellaops');
    try {
      const r = await admin.query(`select calls from pg_stat_statements where query like 'select $1 as stat_marker_%'`);
      expect(r.rows.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
  });

  it('archives WAL into the layout folder (reserved for backups)', async () => {
    const admin = await t.admin();
    try {
      const seg = (await admin.query('select pg_walfile_name(pg_current_wal_lsn()) as f')).rows[0].f as string;
      await admin.query('select pg_switch_wal()');
      await expect.poll(() => readdir(t.ctx.layout.walArchiveDir).includes(seg), { timeout: 30_000 }).toBe(true);
    } finally {
      await admin.end();
    }
  });
});

function readdir(dir: string): string[] {
  const r = spawnSync('ls', [dir], { encoding: 'utf8' });
  return r.stdout.split('\n');
}

describe('TLS', () => {
  it('verify-full works direct and through PgBouncer, with the expected roles', async () => {
    for (const via of ['direct', 'pgbouncer'] as const) {
      const r = await withClient(t.config('app', via), (c) => c.query('select current_user as u'));
      expect(r.rows[0].u).toBe('stellaops_app');
    }
    const ssl = await withClient(t.config('owner', 'direct'), (c) =>
      c.query('select ssl, version from pg_stat_ssl where pid = pg_backend_pid()'),
    );
    expect(ssl.rows[0]).toMatchObject({ ssl: true });
    expect(String(ssl.rows[0].version)).toMatch(/^TLSv1\.[23]$/);
  });

  it('the server side of PgBouncer is TLS too (verify-full to the server), and status says so', async () => {
    await withClient(t.config('app', 'pgbouncer'), async (c) => {
      const r = await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      expect(r.rows[0].ssl).toBe(true);
      const pgStatus = (await t.cluster.status()).components.find((x) => x.name === 'postgres');
      expect(pgStatus?.tls).toMatch(/^ssl=on \(TLSv1\.[23]\), (\d+)\/\1 TCP sessions on TLS$/);
      expect(pgStatus?.tls).not.toMatch(/ 0\/0 /);
    });
  });

  it('refuses a wrong CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'other-ca-'));
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'k'),
        '-out',
        join(dir, 'c'),
        '-days',
        '1',
        '-subj',
        '/CN=other',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const other = readFileSync(join(dir, 'c'), 'utf8');
    for (const via of ['direct', 'pgbouncer'] as const) {
      const e = await rejection(
        withClient(t.config('app', via, { ssl: { ca: other, rejectUnauthorized: true } }), (c) => c.query('select 1')),
      );
      expect(e.message).toMatch(/self[- ]signed|unable to (verify|get)|certificate/i);
    }
  });

  it('refuses a wrong host name (psql, verify-full)', () => {
    for (const port of [t.ctx.state.ports.postgres, t.ctx.state.ports.pgbouncer]) {
      const r = psql(
        `host=db.wrong.example hostaddr=127.0.0.1 port=${port} dbname=stellaops user=stellaops_app sslmode=verify-full sslrootcert=${t.ctx.layout.tls.caCert}`,
        'select 1',
        {
          PGPASSWORD: t.ctx.secrets.roles.stellaops_app!,
        },
      );
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/does not match host name "db\.wrong\.example"/);
    }
  });

  it('refuses plaintext TCP, direct and through PgBouncer', async () => {
    const direct = await rejection(withClient(t.config('app', 'direct', { ssl: false }), (c) => c.query('select 1')));
    expect(direct.message).toMatch(/pg_hba\.conf rejects connection .* no encryption/);
    const pooled = await rejection(withClient(t.config('app', 'pgbouncer', { ssl: false }), (c) => c.query('select 1')));
    expect(pooled.message).toMatch(/SSL required/);
  });

  it('never lets the superuser in over TCP, nor through PgBouncer', async () => {
    const cfg = { ...t.config('owner', 'direct'), user: 'postgres', password: t.ctx.secrets.superuser, database: 'postgres' };
    expect((await rejection(withClient(cfg, (c) => c.query('select 1')))).message).toMatch(/pg_hba\.conf rejects|no pg_hba/);
    const viaBouncer = { ...t.config('owner', 'pgbouncer'), user: 'postgres', password: t.ctx.secrets.superuser };
    expect((await rejection(withClient(viaBouncer, (c) => c.query('select 1')))).message).toMatch(/no such user/); // pgbouncer.get_auth() never returns a superuser
  });

  it('keeps private keys 0600 and out of every printed form', async () => {
    const { statSync } = await import('node:fs');
    for (const k of [t.ctx.layout.tls.caKey, t.ctx.layout.tls.serverKey, t.ctx.layout.tls.authClientKey, t.ctx.layout.secretsFile]) {
      expect(statSync(k).mode & 0o777, k).toBe(0o600);
    }
    const userlist = readFileSync(join(t.ctx.layout.pgbouncerDir, 'userlist.txt'), 'utf8');
    for (const pw of Object.values(t.ctx.secrets.pgbouncer)) expect(userlist).not.toContain(pw);
    expect(userlist).toMatch(/SCRAM-SHA-256\$4096:/);
  });
});

describe('cluster env', () => {
  it('works with psql as given (app through PgBouncer, owner direct)', () => {
    expect(psql(t.info.app.url, 'select current_user')).toEqual({ status: 0, out: 'stellaops_app\n' });
    expect(psql(t.info.owner.url, 'select current_user')).toEqual({ status: 0, out: 'stellaops_owner\n' });
  });
});

describe('components', () => {
  it('a later component (monitoring, backups) plugs in: started by up, asked by status, its port kept', async () => {
    const started: number[] = [];
    const probe: ClusterComponent = {
      name: 'probe-exporter',
      async start(ctx) {
        const port = await ctx.allocatePort(this.name);
        started.push(port);
        writeFileSync(join(ctx.layout.monitoringDir, 'probe.yml'), `port: ${port}\n`);
        return this.status(ctx);
      },
      async stop() {},
      async status(ctx) {
        return { name: this.name, state: 'ready', port: await ctx.allocatePort(this.name) };
      },
    };
    const c = new Cluster({ root: t.root, extraComponents: [probe] });
    const up = await c.up();
    expect(up.components.map((x) => x.name)).toEqual(['tls', 'postgres', 'roles', 'pgbouncer', 'monitoring', 'probe-exporter']);
    const port = started[0]!;
    expect(JSON.parse(readFileSync(t.ctx.layout.stateFile, 'utf8')).ports['probe-exporter']).toBe(port);
    expect(Object.values(t.ctx.state.ports)).not.toContain(port);
    await c.up();
    expect(started).toEqual([port, port]);
    expect((await c.status()).components.at(-1)).toEqual({ name: 'probe-exporter', state: 'ready', port });
  });
});

describe('lifecycle and bad inputs', () => {
  it('a second up is idempotent (same processes, same passwords)', async () => {
    const before = await t.cluster.status();
    const secrets = readFileSync(t.ctx.layout.secretsFile, 'utf8');
    const after = await t.cluster.up();
    const pids = (s: typeof before) => s.components.map((c) => c.pid);
    expect(pids(after)).toEqual(pids(before));
    expect(readFileSync(t.ctx.layout.secretsFile, 'utf8')).toBe(secrets);
    expect(psql(t.info.app.url, 'select 1').status).toBe(0);
  });

  it('status reports a setting changed behind its back', async () => {
    const admin = await t.admin();
    try {
      await admin.query(`alter system set work_mem = '32MB'`);
      await admin.query('select pg_reload_conf()');
      await expect
        .poll(async () => (await t.cluster.status()).differingSettings?.map((d) => `${d.name}=${d.actual}`), { timeout: 10_000 })
        .toEqual(['work_mem=32MB']);
    } finally {
      await admin.query('alter system reset work_mem');
      await admin.query('select pg_reload_conf()');
      await admin.end();
    }
  });

  it('a missing Debian package stops up before anything starts, with the exact apt-get command', async () => {
    const c = new Cluster({ root: `${t.root}-missing`, programs: { pgbouncer: '/nonexistent/usr/sbin/pgbouncer' } });
    const e = await rejection(c.up());
    expect(e).toBeInstanceOf(MissingPackageError);
    expect(e.message).toContain('apt-get install -y pgbouncer');
    expect((e as MissingPackageError).installCommand).toBe('apt-get install -y pgbouncer');
  });

  it('a port in use is named with the fix', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ port: 0, host: '127.0.0.1' }, () => r()));
    const port = (blocker.address() as { port: number }).port;
    const root = `${t.root}-port`;
    try {
      const c = new Cluster({ root, memoryBytes: parseMemory('1GiB'), ports: { postgres: port } });
      const e = await rejection(c.up());
      expect(e).toBeInstanceOf(ClusterError);
      expect((e as ClusterError).code).toBe('CLUSTER_PORT_IN_USE');
      expect(e.message).toMatch(new RegExp(`Port ${port} is already in use.*Fix: .*--port`));
    } finally {
      blocker.close();
      await new Cluster({ root }).down().catch(() => undefined);
      spawnSync('rm', ['-rf', root]);
    }
  });

  it('a value PostgreSQL rejects stops up before anything is written', async () => {
    const root = `${t.root}-bad`;
    const e = await rejection(new Cluster({ root, memoryBytes: parseMemory('1GiB'), overrides: { shared_buffers: 'lots' } }).up());
    expect(e).toBeInstanceOf(SettingsRejectedError);
    expect(e.message).toMatch(/invalid value for parameter "shared_buffers": "lots"/);
    expect(readdir(root).filter(Boolean)).toEqual([]);
    spawnSync('rm', ['-rf', root]);
  });

  it('a corrupted state file is reported, nothing changed', async () => {
    const file = t.ctx.layout.stateFile;
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{ not json');
    try {
      const e = await rejection(t.cluster.up());
      expect(e).toBeInstanceOf(ClusterStateError);
      expect(e.message).toMatch(/cluster\.json .* is not valid JSON\. Nothing was changed\. Fix:/);
    } finally {
      writeFileSync(file, good);
    }
    expect((await t.cluster.status()).healthy).toBe(true);
  });
});
