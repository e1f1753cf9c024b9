import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster, freePort, locateBinaries, serverRunAs } from '@stellaops/embedded-server';
import { runCli } from './helpers.js';

// A real PostgreSQL 16 with WAL archiving, as `stella-db cluster up` runs it, under /dev/shm (reachable by OS user postgres).
const runAs = serverRunAs();
let root: string;
let cluster: EmbeddedCluster;
let env: Record<string, string>;

beforeAll(async () => {
  root = mkdtempSync('/dev/shm/stella-cli-backup-');
  chmodSync(root, 0o711);
  const archive = join(root, 'archive');
  const sock = join(root, 'sock');
  for (const d of [archive, sock]) {
    mkdirSync(d, { mode: 0o700 });
    if (runAs) chownSync(d, runAs.uid, runAs.gid);
  }
  cluster = new EmbeddedCluster({
    binaries: locateBinaries(runAs, join(root, 'bin')),
    runAs,
    dataDir: join(root, 'data'),
    logFile: join(root, 'server.log'),
    superuserPassword: randomBytes(12).toString('hex'),
    settings: {
      fsync: 'off',
      archive_mode: 'on',
      archive_library: 'basic_archive',
      'basic_archive.archive_directory': archive,
      archive_timeout: '60s',
      unix_socket_directories: sock,
    },
  });
  await cluster.initialize();
  const port = await freePort();
  await cluster.start(port);
  env = {
    STELLAOPS_BACKUP_REPO: join(root, 'repo'),
    STELLAOPS_WAL_ARCHIVE_DIR: archive,
    STELLAOPS_PGDATA: join(root, 'data'),
    STELLAOPS_PG_SOCKET: sock,
    STELLAOPS_PG_PORT: String(port),
  };
  const c = new pg.Client({ host: sock, port, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(
    'create table notes (id int primary key, body text); insert into notes select g, md5(g::text) from generate_series(1, 500) g',
  );
  await c.end();
});

afterAll(async () => {
  await cluster?.stop({ mode: 'immediate' });
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('stella-db backup', () => {
  it('names a missing repository option and exits 2', async () => {
    const r = await runCli(['backup', 'list'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--repo is required (or set STELLAOPS_BACKUP_REPO)');
  });

  it('create, list, status, verify, restore and prune against a running cluster', async () => {
    const created = await runCli(['backup', 'create', '--label', 'cli', '--json'], env);
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const id = (created.json.backup as { id: string }).id;
    expect(id).toMatch(/-cli$/);
    expect(readFileSync(join(env.STELLAOPS_BACKUP_REPO!, 'stellaops_backup.prom'), 'utf8')).toMatch(/^stellaops_backup_last_status 1$/m);

    const list = await runCli(['backup', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/earliest restorable point: \S+ \(end of /);

    const status = await runCli(['backup', 'status', '--json'], env);
    expect(status.code).toBe(0);
    expect((status.json.archiving as { ok: boolean }).ok).toBe(true);

    const verify = await runCli(['backup', 'verify', '--scratch', root, '--json'], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.json.ok).toBe(true);
    expect(verify.json.tablesChecked).toBe(1);

    const into = join(root, 'restored');
    const restore = await runCli(['backup', 'restore', '--to', 'latest', '--into', into, '--json'], env);
    expect(restore.code, restore.stdout).toBe(0);
    const r = restore.json as { port: number; socketDir: string; dataDir: string };
    const c = new pg.Client({ host: r.socketDir, port: r.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    expect((await c.query<{ n: string }>('select count(*)::text as n from notes')).rows[0]!.n).toBe('500');
    await c.end();
    await new EmbeddedCluster({
      binaries: locateBinaries(runAs, join(root, 'bin')),
      runAs,
      dataDir: into,
      logFile: join(into, 'stellaops-restore.log'),
      superuserPassword: '',
      settings: {},
    }).stop();
    rmSync(r.socketDir, { recursive: true, force: true });

    const again = await runCli(['backup', 'restore', '--to', 'latest', '--into', into], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty');

    const second = await runCli(['backup', 'create', '--keep', '1', '--json'], env);
    expect(second.code).toBe(0);
    expect((second.json.retention as { removedBackups: string[] }).removedBackups).toEqual([id]);
    expect(existsSync(join(env.STELLAOPS_BACKUP_REPO!, 'backups', id))).toBe(false);
  });
});
