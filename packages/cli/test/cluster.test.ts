import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDataSource, loadPersistenceOptions } from '@stellaops/postgres-core';
import { runCli } from './helpers.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

describe('stella-db cluster config', () => {
  it('prints the computed settings with reasons and the PgBouncer cap', async () => {
    const r = await runCli(['cluster', 'config', '--memory', '64GiB']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^shared_buffers = '16GB' {2}# 25% of 64GiB RAM/m);
    expect(r.stdout).toMatch(/max_db_connections=80 \(\+ 17 direct \+ 3 superuser-reserved = max_connections\)/);
    const j = await runCli(['cluster', 'config', '--memory', '8GiB', '--format', 'json']);
    expect(j.json).toMatchObject({ ok: true, memory: '8GiB', pgbouncer: { maxClientConn: 500, maxDbConnections: 80 } });
  });

  it('rejects wrong inputs with the fix, before anything starts (exit 2)', async () => {
    const potatoes = await runCli(['cluster', 'config', '--memory', '12 potatoes']);
    expect(potatoes.code).toBe(2);
    expect(potatoes.stderr).toMatch(/--memory "12 potatoes" is not a memory size\. Fix: /);
    const rejected = await runCli(['cluster', 'config', '--memory', '4GiB', '--set', 'max_connections=100000000']);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toMatch(/100000000 is outside the valid range for parameter "max_connections"/);
  });
});

describe('stella-db cluster manifests', () => {
  it('the committed deploy/staging files are what the command renders', async () => {
    const r = await runCli(['cluster', 'manifests', '--env', 'staging', '--out', 'deploy/staging', '--check'], {}, REPO);
    expect(r.stdout + r.stderr).toMatch(/manifests up to date/);
    expect(r.code).toBe(0);
  });

  it('--check reports drift with exit code 3', async () => {
    const r = await runCli(
      ['cluster', 'manifests', '--env', 'staging', '--memory', '32GiB', '--out', 'deploy/staging', '--check'],
      {},
      REPO,
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/differs from what is rendered: cluster\.yaml/);
  });

  it('--pooler-reset takes driver or always, and says so otherwise', async () => {
    const r = await runCli(['cluster', 'manifests', '--env', 'staging', '--pooler-reset', 'sometimes'], {}, REPO);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--pooler-reset <mode>' argument 'sometimes' is invalid\. not a mode\. Fix: give driver or always\./);
    const always = await runCli(['cluster', 'manifests', '--env', 'staging', '--pooler-reset', 'always'], {}, REPO);
    expect(always.code).toBe(0);
    expect(always.stdout).toMatch(/server_reset_query_always: "1"/);
  });

  it('writes the files with --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'manifests-'));
    const r = await runCli(['cluster', 'manifests', '--env', 'staging', '--out', out], {}, REPO);
    expect(r.code).toBe(0);
    for (const f of ['cluster.yaml', 'pooler.yaml', 'monitoring.yaml']) {
      expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(REPO, 'deploy', 'staging', f), 'utf8'));
    }
  });
});

describe('stella-db cluster up / env / status / down', () => {
  const dir = `/dev/shm/stella-db-cluster-cli-${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    await runCli(['cluster', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a missing Debian package gives the exact apt-get command', async () => {
    const r = await runCli(['cluster', 'up', '--dir', `${dir}-missing`, '--pgbouncer-bin', '/nonexistent/pgbouncer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Fix: apt-get install -y pgbouncer');
    expect(existsSync(`${dir}-missing`)).toBe(false); // nothing created
  });

  it('--scrape refuses a non-loopback target before anything starts (exit 2)', async () => {
    const r = await runCli(['cluster', 'up', '--dir', `${dir}-scrape`, '--scrape', 'worker=10.1.2.3:9464']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/10\.1\.2\.3 is not loopback.*Fix: 127\.0\.0\.1:<port>/);
    expect(existsSync(`${dir}-scrape`)).toBe(false);
  });

  // only as root does the server run as another OS user (postgres) that may be unable to reach the folder
  it.skipIf(process.getuid?.() !== 0)('refuses a --dir the server user cannot reach, naming the fix', async () => {
    const locked = mkdtempSync(join(tmpdir(), 'locked-')); // 0700: OS user postgres cannot pass
    const r = await runCli(['cluster', 'up', '--dir', join(locked, 'c')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot pass through .* Fix: leave --dir out/);
    expect(existsSync(join(locked, 'c'))).toBe(false);
  });

  it('brings the cluster up; env works with psql as given; status and down report it', async () => {
    const up = await runCli(['cluster', 'up', '--dir', dir, '--memory', '1GiB', '--json']);
    expect(up.json).toMatchObject({ ok: true, healthy: true });
    const hidden = await runCli(['cluster', 'env', '--dir', dir]);
    expect(hidden.stdout).toMatch(
      /Postgres__ConnectionString=Host=localhost;Port=\d+;Database=stellaops;Username=stellaops_app;Password=\*\*\*;SSL Mode=VerifyFull/,
    );
    expect(hidden.stdout).toMatch(/sslmode=verify-full&sslrootcert=/);
    const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as { roles: Record<string, string> };
    for (const pw of Object.values(secrets.roles)) expect(hidden.stdout + up.stdout).not.toContain(pw);
    const env = await runCli(['cluster', 'env', '--dir', dir, '--show-secrets', '--json']);
    const app = (env.json.app as { url: string }).url;
    const psql = spawnSync('psql', [app, '-AtXc', 'select current_user'], { encoding: 'utf8' });
    expect(psql.stdout + psql.stderr).toBe('stellaops_app\n');
    const status = await runCli(['cluster', 'status', '--dir', dir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/pgbouncer +running/);
    // monitoring is on by default here (Debian's prometheus and exporters are installed)
    expect(status.stdout).toMatch(/monitoring +running/);
    for (const p of ['postgres-exporter', 'pgbouncer-exporter', 'prometheus'])
      expect(status.stdout).toMatch(new RegExp(`^ {2}${p} +running +\\d+ +\\d+`, 'm'));
    const dashboard = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/consoles\/stellaops-postgres\.html)$/m.exec(status.stdout)?.[1];
    expect(dashboard).toBeDefined();
    expect(hidden.stdout).toContain(`DASHBOARD_URL=${dashboard}`);
    expect(hidden.stdout).toMatch(/^PROMETHEUS_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    expect((await fetch(dashboard!)).status).toBe(200);
    // heavy enough (about 100 ms) to lead the busiest statements by total time, whatever setup ran before
    expect(
      spawnSync('psql', [app, '-AtXc', 'select count(*) as cli_top_probe from generate_series(1, 3000000)'], { encoding: 'utf8' }).status,
    ).toBe(0);
    const top = await runCli(['cluster', 'top', '--dir', dir]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/BUSIEST STATEMENTS/);
    expect(top.stdout).toMatch(/cli_top_probe/);
    const watch = await runCli(['cluster', 'top', '--dir', dir, '--watch', '--interval', '1', '--count', '2']);
    expect(watch.code).toBe(0);
    expect(watch.stdout.match(/BUSIEST STATEMENTS \(last/g)).toHaveLength(1); // the second frame shows rates
    const pids = (status.stdout.match(/^ {2}(?:postgres-exporter|pgbouncer-exporter|prometheus) +running +\d+ +(\d+)/gm) ?? []).map((l) =>
      Number(/(\d+)$/.exec(l)![1]),
    );
    expect(pids).toHaveLength(3);
    expect((await runCli(['cluster', 'down', '--dir', dir])).code).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const after = await runCli(['cluster', 'status', '--dir', dir]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/postgres +stopped/);
    expect(after.stdout).toMatch(/monitoring +stopped/);
  });

  it('up again keeps the tenant key and installs the proof; a module migrated with the owner URL works through PgBouncer with the app URL + tenant key; a backup is recorded for monitoring', async () => {
    const secretsFile = join(dir, 'secrets.json');
    const keyBefore = (JSON.parse(readFileSync(secretsFile, 'utf8')) as { tenantKey: { keyId: string; key: string } }).tenantKey;
    expect(keyBefore.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const up = await runCli(['cluster', 'up', '--dir', dir, '--json']);
    expect(up.json).toMatchObject({ ok: true, healthy: true });
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as { superuser: string; tenantKey: { keyId: string; key: string } };
    expect(secrets.tenantKey).toEqual(keyBefore); // never rotated by a rerun
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);

    const status = await runCli(['cluster', 'status', '--dir', dir]);
    expect(status.stdout).toMatch(/^security +ready +.*tenant key k1: installed; app role check: ok \(stellaops_app/m);
    expect(status.stdout).toMatch(/^archiver +ready +.*archive_mode=on, \d+ archived/m);

    const hidden = await runCli(['cluster', 'env', '--dir', dir]);
    expect(hidden.stdout).toMatch(/^Postgres__TenantKey=\*\*\*$/m);
    expect(hidden.stdout).toMatch(/^Postgres__TenantKeyId=k1$/m);
    expect(hidden.stdout).not.toContain(secrets.tenantKey.key);
    const shown = await runCli(['cluster', 'env', '--dir', dir, '--show-secrets']);
    expect(shown.stdout).toContain(`Postgres__TenantKey=${secrets.tenantKey.key}\n`);

    // a migration job: the module's migrations with the owner's direct URL from cluster env
    const env = await runCli(['cluster', 'env', '--dir', dir, '--show-secrets', '--json']);
    const info = env.json as unknown as { owner: { url: string }; app: { envLines: string[] } };
    const migrate = await runCli(['migrate', 'up', '--module', 'notify', '--url', info.owner.url, '--json']);
    expect(migrate.code, migrate.stderr).toBe(0);

    // a service: the app env lines (PgBouncer, transaction pooling, tenant key) as its environment
    const serviceEnv = Object.fromEntries(info.app.envLines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const options = loadPersistenceOptions({ env: serviceEnv, configDir: null });
    const ds = createDataSource<{ 'notify.channels': { tenant_id: string; name: string; kind: string } }>(options.postgres!, {
      module: 'cluster-test',
    });
    try {
      await ds
        .forTenant('tenant-a')
        .insertInto('notify.channels')
        .values({ name: 'a-mail', kind: 'email' } as never)
        .execute();
      await ds
        .forTenant('tenant-b')
        .insertInto('notify.channels')
        .values({ name: 'b-hook', kind: 'webhook' } as never)
        .execute();
      const a = await ds.forTenant('tenant-a').selectFrom('notify.channels').select(['tenant_id', 'name']).execute();
      expect(a).toEqual([{ tenant_id: 'tenant-a', name: 'a-mail' }]);
      // no tenant context: nothing readable; another tenant's row cannot be written
      expect(await ds.db.selectFrom('notify.channels').selectAll().execute()).toEqual([]);
      await expect(
        ds.forTenant('tenant-a').insertInto('notify.channels').values({ tenant_id: 'tenant-b', name: 'forged', kind: 'email' }).execute(),
      ).rejects.toThrow(/row[- ]level security/i);
    } finally {
      await ds.close();
    }

    // backup → stellaops_monitoring.backup_status (what the exporter reads) moves
    const admin = new pg.Client({
      host: join(dir, 'run'),
      port: (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { ports: { postgres: number } }).ports.postgres,
      user: 'postgres',
      password: secrets.superuser,
      database: 'stellaops',
    });
    await admin.connect();
    try {
      const before = (await admin.query('select max(last_success_at) as t from stellaops_monitoring.backup_status')).rows[0]
        ?.t as Date | null;
      const backup = await runCli(['cluster', 'backup', '--dir', dir, '--no-progress']);
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stdout).toMatch(/monitoring: recorded \(stellaops_backup_last_success_timestamp_seconds\)/);
      const after = (await admin.query('select max(last_success_at) as t from stellaops_monitoring.backup_status')).rows[0]
        ?.t as Date | null;
      expect(after).not.toBeNull();
      expect(after!.getTime()).toBeGreaterThan(before?.getTime() ?? 0);
    } finally {
      await admin.end();
    }
  });
});
