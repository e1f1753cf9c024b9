import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRetention,
  archiveStatus,
  ArchivingFailedError,
  BackupChecksumMismatchError,
  BackupRepository,
  BackupWriteError,
  listBackups,
  METRICS_FILE,
  restoreBackup,
  RestoreTargetError,
  takeBackup,
  verifyBackup,
  WalSegmentMissingError,
  type BackupManifest,
} from '../src/index.js';
import { ensureRestoresParent, restoreDir, startArchivingCluster, verifyOptions, type ArchivingCluster } from './helpers.js';

let c: ArchivingCluster;
let first: BackupManifest;

async function write(n: number): Promise<void> {
  const db = await c.client();
  await db.query('create table if not exists t (id serial primary key, v text not null)');
  await db.query('insert into t (v) select md5(g::text) from generate_series(1, $1) g', [n]);
  await db.end();
}

async function rowCount(conn: { host: string; port: number; user: string }): Promise<number> {
  const pg = (await import('pg')).default;
  const cl = new pg.Client({ ...conn, database: 'postgres' });
  await cl.connect();
  const n = Number((await cl.query<{ n: string }>('select count(*)::text as n from t')).rows[0]!.n);
  await cl.end();
  return n;
}

beforeAll(async () => {
  c = await startArchivingCluster();
  ensureRestoresParent(c);
  await write(100);
  first = await takeBackup({ source: c.source, repository: c.repo, label: 'first' });
});

afterAll(async () => {
  await c?.destroy();
});

describe('failure paths', () => {
  it('an unwritable archive folder: archiving fails, PostgreSQL keeps the WAL, status warns, backup refuses; nothing is lost once fixed', async () => {
    chmodSync(c.archiveDir, 0o500); // owner (postgres) may no longer write
    try {
      await write(10);
      const db = await c.client();
      const seg = (await db.query<{ f: string }>('select pg_walfile_name(pg_switch_wal()) as f')).rows[0]!.f;
      let st = await archiveStatus(c.source.connection, c.archiveDir, c.source.dataDir);
      for (let i = 0; i < 200 && st.ok; i++) {
        await new Promise((r) => setTimeout(r, 50));
        st = await archiveStatus(c.source.connection, c.archiveDir, c.source.dataDir);
      }
      await db.end();
      expect(st.ok).toBe(false);
      expect(st.warnings.join(' ')).toMatch(new RegExp(`WAL archiving is failing: ${seg}.*writable`));
      expect(st.pendingSegments).toBeGreaterThanOrEqual(1);
      expect(existsSync(join(c.source.dataDir, 'pg_wal', seg))).toBe(true);
      expect(existsSync(join(c.archiveDir, seg))).toBe(false);

      const before = new BackupRepository(c.repo).manifests().length;
      await expect(takeBackup({ source: c.source, repository: c.repo })).rejects.toThrow(ArchivingFailedError);
      expect(new BackupRepository(c.repo).manifests()).toHaveLength(before);
      const status = new BackupRepository(c.repo).status();
      expect(status.lastStatus).toBe('failure');
      expect(status.lastFailure?.code).toBe('BACKUP_ARCHIVING_FAILED');
      const prom = readFileSync(join(c.repo, METRICS_FILE), 'utf8');
      expect(prom).toMatch(/^stellaops_backup_last_status 0$/m);
      expect(prom).toMatch(/^stellaops_backup_failures_total [1-9]/m);
      expect(prom).toMatch(new RegExp(`^stellaops_backup_last_success_timestamp_seconds ${Date.parse(first.stopTime) / 1000}$`, 'm'));

      chmodSync(c.archiveDir, 0o700);
      await c.switchAndWait();
      expect(existsSync(join(c.archiveDir, seg))).toBe(true);
      expect((await archiveStatus(c.source.connection, c.archiveDir)).ok).toBe(true);
    } finally {
      chmodSync(c.archiveDir, 0o700);
    }
  });

  it('a missing WAL segment in the range: restore refuses and names the segment, nothing is extracted', async () => {
    await write(10);
    await c.switchAndWait();
    await write(10);
    await c.switchAndWait();
    const segs = readdirSync(c.archiveDir)
      .filter((n) => /^[0-9A-F]{24}$/.test(n))
      .sort();
    const victim = segs.find((s) => s > first.restorePoint.walFile && s < segs.at(-1)!)!;
    expect(victim).toBeDefined();
    const aside = join(c.root, victim);
    renameSync(join(c.archiveDir, victim), aside);
    const into = restoreDir(c, 'gap');
    try {
      const err = await restoreBackup({
        repository: c.repo,
        archiveDir: c.archiveDir,
        target: 'latest',
        into,
        binaries: c.binaries,
        runAs: c.runAs,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WalSegmentMissingError);
      expect((err as WalSegmentMissingError).segment).toBe(victim);
      expect((err as Error).message).toContain(`WAL segment ${victim} is missing`);
      expect(existsSync(into)).toBe(false);
    } finally {
      renameSync(aside, join(c.archiveDir, victim));
    }
  });

  it('a long write transaction: the backup is kept without row counts (clear warning), and that transaction is never broken', async () => {
    const writer = await c.client();
    await writer.query('begin');
    await writer.query("insert into t (v) values ('long transaction')");
    let id = '';
    try {
      const warnings: string[] = [];
      const m = await takeBackup({
        source: c.source,
        repository: c.repo,
        label: 'busy',
        lockTimeoutMs: 1500,
        onProgress: (p) => p.message.startsWith('warning') && warnings.push(p.message),
      });
      id = m.id;
      expect(m.tables).toEqual([]);
      expect(m.tableStatsSkipped).toContain('long write transactions');
      expect(warnings).toHaveLength(1);
      await writer.query('commit'); // untouched: no deadlock victim, no cancel
      expect((await writer.query("select count(*)::int as n from t where v = 'long transaction'")).rows[0]).toEqual({ n: 1 });
    } finally {
      await writer.end();
    }
    const report = await verifyBackup({ ...verifyOptions(c), backupId: id });
    expect(report.ok).toBe(true);
    expect(report.indexesChecked).toBeGreaterThanOrEqual(1); // t's primary key in database postgres
    expect(report.warnings).toEqual([expect.stringContaining(`backup ${id} has no row counts`)]);
    new BackupRepository(c.repo).remove(id);
  });

  it.skipIf(!process.getuid || process.getuid() !== 0)(
    'a restore folder the server user cannot reach is refused before anything is extracted (root only)',
    async () => {
      const hidden = mkdtempSync(join(tmpdir(), 'stella-hidden-')); // 0700, owned by root
      try {
        const err = await restoreBackup({
          repository: c.repo,
          archiveDir: c.archiveDir,
          target: 'latest',
          into: join(hidden, 'data'),
          binaries: c.binaries,
          runAs: c.runAs,
        }).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(/the parent of the restore folder .* is not reachable by OS user "postgres"/);
        expect(existsSync(join(hidden, 'data'))).toBe(false);
      } finally {
        rmSync(hidden, { recursive: true, force: true });
      }
    },
  );

  it('refuses to mix the backups of two clusters in one repository', async () => {
    const repo = new BackupRepository(c.repo);
    const m = repo.manifests()[0]!;
    const file = join(repo.backupDir(m.id), 'manifest.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, JSON.stringify({ ...m, systemIdentifier: '1' }));
    try {
      await expect(takeBackup({ source: c.source, repository: c.repo })).rejects.toThrow(
        /holds backups of another cluster \(system identifier 1/,
      );
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a target before the earliest backup is refused with the earliest restorable point', async () => {
    const before = new Date(Date.parse(first.startTime) - 1000).toISOString();
    const err = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: before,
      into: restoreDir(c, 'early'),
      binaries: c.binaries,
      runAs: c.runAs,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreTargetError);
    expect((err as Error).message).toContain('before the earliest restorable point');
    expect((err as Error).message).toContain(first.stopTime);
    expect(existsSync(restoreDir(c, 'early'))).toBe(false);

    const late = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: 'FF/0',
      into: restoreDir(c, 'late'),
      binaries: c.binaries,
      runAs: c.runAs,
    }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RestoreTargetError);
    expect((late as Error).message).toContain('LSN FF/0 is after the newest archived WAL');
    const future = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: new Date(Date.now() + 3_600_000).toISOString(),
      into: restoreDir(c, 'late'),
      binaries: c.binaries,
      runAs: c.runAs,
    }).catch((e: unknown) => e);
    expect(future).toBeInstanceOf(RestoreTargetError);
    expect((future as Error).message).toContain('is after the newest archived WAL');
    expect(existsSync(restoreDir(c, 'late'))).toBe(false);
  });

  it('a corrupted backup file is refused with the checksum mismatch named (archive level and file level)', async () => {
    const m = await takeBackup({ source: c.source, repository: c.repo, label: 'to-corrupt' });
    const repo = new BackupRepository(c.repo);
    const tar = join(repo.backupDir(m.id), 'base.tar.gz');
    const original = readFileSync(tar);
    try {
      // 1. a flipped byte in the compressed file
      const flipped = Buffer.from(original);
      flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
      writeFileSync(tar, flipped);
      const err1 = await restoreBackup({
        repository: c.repo,
        archiveDir: c.archiveDir,
        target: 'immediate',
        backupId: m.id,
        into: restoreDir(c, 'corrupt1'),
        binaries: c.binaries,
        runAs: c.runAs,
      }).catch((e: unknown) => e);
      expect(err1).toBeInstanceOf(BackupChecksumMismatchError);
      expect((err1 as BackupChecksumMismatchError).file).toBe('base.tar.gz');
      expect((err1 as Error).message).toContain(`Backup ${m.id} is damaged`);
      expect(existsSync(restoreDir(c, 'corrupt1'))).toBe(false);

      // 2. a file changed before compression (archive checksum updated): the file is named
      const raw = gunzipSync(original);
      let at = raw.indexOf(Buffer.from('PG_VERSION\0'));
      while (at !== -1 && at % 512 !== 0) at = raw.indexOf(Buffer.from('PG_VERSION\0'), at + 1); // the root PG_VERSION's header
      expect(at).toBeGreaterThan(0);
      raw[at + 512] = '9'.charCodeAt(0);
      const regz = gzipSync(raw);
      writeFileSync(tar, regz);
      const man = JSON.parse(readFileSync(join(repo.backupDir(m.id), 'manifest.json'), 'utf8')) as BackupManifest;
      man.archiveSha256 = createHash('sha256').update(regz).digest('hex');
      writeFileSync(join(repo.backupDir(m.id), 'manifest.json'), JSON.stringify(man));
      const err2 = await restoreBackup({
        repository: c.repo,
        archiveDir: c.archiveDir,
        target: 'immediate',
        backupId: m.id,
        into: restoreDir(c, 'corrupt2'),
        binaries: c.binaries,
        runAs: c.runAs,
      }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(BackupChecksumMismatchError);
      expect((err2 as BackupChecksumMismatchError).file).toBe('PG_VERSION');
      expect((err2 as Error).message).toMatch(/PG_VERSION in base\.tar\.gz has SHA-256 \w+, the manifest says/);
      expect(existsSync(restoreDir(c, 'corrupt2'))).toBe(false);
    } finally {
      repo.remove(m.id);
    }
  });

  it('a full disk in the backup folder (tmpfs of 1 MiB): backup fails clearly, the partial backup is removed, the cluster is unaffected', async (ctx) => {
    const small = join(c.root, 'small-repo');
    mkdirSync(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', small], { stdio: 'pipe' });
    } catch (e) {
      ctx.skip(`needs root with CAP_SYS_ADMIN to mount a small tmpfs (${(e as Error).message.split('\n')[0]})`);
    }
    try {
      const err = await takeBackup({ source: c.source, repository: small }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackupWriteError);
      expect((err as Error).message).toMatch(/ENOSPC/);
      expect((err as Error).message).toContain('free space');
      expect(readdirSync(join(small, 'backups'))).toEqual([]);
      const db = await c.client();
      try {
        // the backup session is gone (its backup aborted), and the cluster takes writes
        expect(
          (await db.query<{ n: string }>("select count(*)::text as n from pg_stat_activity where application_name = 'stellaops-backup'"))
            .rows[0]!.n,
        ).toBe('0');
        await db.query('insert into t (v) values ($1)', ['after disk full']);
      } finally {
        await db.end();
      }
      // a backup into the real repository still works
      const ok = await takeBackup({ source: c.source, repository: c.repo, label: 'after-full' });
      expect(ok.files.length).toBeGreaterThan(0);
    } finally {
      execFileSync('umount', [small]);
    }
  });
});

describe('retention', () => {
  it('--keep 2 removes older backups and the WAL before the oldest kept one; every kept backup still restores', async () => {
    await write(10);
    await takeBackup({ source: c.source, repository: c.repo, label: 'r1' });
    await write(10);
    await takeBackup({ source: c.source, repository: c.repo, label: 'r2' });
    await write(10);
    await c.switchAndWait();
    const all = new BackupRepository(c.repo).manifests();
    expect(all.length).toBeGreaterThanOrEqual(3);
    const report = applyRetention({ repository: c.repo, archiveDir: c.archiveDir, keep: 2 });
    expect(report.keptBackups).toEqual(all.slice(-2).map((m) => m.id));
    expect(report.removedBackups).toEqual(all.slice(0, -2).map((m) => m.id));
    expect(report.removedSegments).toBeGreaterThan(0);
    const kept = new BackupRepository(c.repo).manifests();
    const segs = readdirSync(c.archiveDir)
      .filter((n) => /^[0-9A-F]{24}$/.test(n))
      .sort();
    expect(segs[0]).toBe(kept[0]!.startWalFile);
    const catalog = listBackups(c.repo, c.archiveDir);
    expect(catalog.backups.every((b) => b.restorable)).toBe(true);
    expect(catalog.earliest?.backupId).toBe(kept[0]!.id);

    const live = await rowCount(c.source.connection as { host: string; port: number; user: string });
    for (const m of kept) {
      const r = await restoreBackup({
        repository: c.repo,
        archiveDir: c.archiveDir,
        target: { kind: 'immediate' },
        backupId: m.id,
        into: restoreDir(c, `keep-${m.id}`),
        binaries: c.binaries,
        runAs: c.runAs,
      });
      await r.destroy();
    }
    // the oldest kept backup replays all the way to the end of the archive
    const latest = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: 'latest',
      backupId: kept[0]!.id,
      into: restoreDir(c, 'keep-latest'),
      binaries: c.binaries,
      runAs: c.runAs,
    });
    try {
      expect(await rowCount(latest.connection as { host: string; port: number; user: string })).toBe(live);
    } finally {
      await latest.destroy();
    }
  });
});
