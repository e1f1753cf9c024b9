import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { ArchivingFailedError, BackupError, BackupUsageError, BackupWriteError } from './errors.js';
import type { BackupManifest, ManifestFile } from './manifest.js';
import { connect, type SuperuserConnection } from './pg-session.js';
import { BackupRepository } from './repository.js';
import { restorePointOnly, restorePointWithStats, statsDatabases } from './table-stats.js';
import { encodeHeader, endOfArchive, padding } from './tar.js';
import { readWalArchive, segmentName, segmentOfLsn } from './wal.js';
import { archiveStatus } from './archive-status.js';

/** The running cluster a backup is taken from. */
export interface SourceCluster {
  /** Superuser connection, preferably over the Unix socket. */
  connection: SuperuserConnection;
  /** The data folder (PGDATA) of that server, readable by this process. */
  dataDir: string;
  /** The folder WAL is archived into (`basic_archive.archive_directory`). */
  archiveDir: string;
}

/** A progress event of a backup. */
export interface BackupProgress {
  phase: 'start' | 'copy' | 'stop' | 'stats' | 'archive-wait' | 'done';
  /** Bytes of the data folder copied so far, and in all. */
  bytesDone: number;
  bytesTotal: number;
  message: string;
}

/** Options of {@link takeBackup}. */
export interface BackupOptions {
  source: SourceCluster;
  /** The repository folder (or a {@link BackupRepository}). */
  repository: string | BackupRepository;
  /** Free text kept in the manifest and backup_label; a short form goes into the id. */
  label?: string;
  /** gzip level 1-9 (default 1: PostgreSQL pages compress well even at the fastest level). */
  compressionLevel?: number;
  /** Databases whose tables are counted for verify (default: every connectable non-template database). */
  databases?: string[];
  /** How long to wait for the WAL the backup needs to be archived (default 120 s). */
  archiveWaitMs?: number;
  /** Bound on pausing writes to count rows at the restore point (default 30 s). */
  lockTimeoutMs?: number;
  onProgress?: (p: BackupProgress) => void;
}

/** Folders whose contents a base backup leaves out (PostgreSQL docs, "Making a Base Backup Using the Low Level API"; pg_basebackup's list). */
const EXCLUDE_CONTENTS = new Set([
  'pg_wal',
  'pg_dynshmem',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
/** Files of the data folder root never copied. */
const EXCLUDE_ROOT_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'tablespace_map',
  'backup_label.old',
  'current_logfiles',
  'recovery.signal',
  'standby.signal',
]);

interface PlannedEntry {
  path: string;
  type: 'file' | 'directory';
  mode: number;
  mtime: number;
  size: number;
}

function plan(dataDir: string): PlannedEntry[] {
  const out: PlannedEntry[] = [];
  const walk = (rel: string) => {
    const abs = rel ? join(dataDir, rel) : dataDir;
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // dropped while we walked
      throw e;
    }
    for (const d of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.name.startsWith('pgsql_tmp') || d.name === 'pg_internal.init') continue;
      if (!rel && EXCLUDE_ROOT_FILES.has(d.name)) continue;
      if (path === 'global/pg_control') continue; // added last
      let st;
      try {
        st = statSync(join(abs, d.name));
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        out.push({ path, type: 'directory', mode: st.mode, mtime: st.mtimeMs / 1000, size: 0 });
        if (!rel && d.name === 'pg_tblspc' && readdirSync(join(abs, d.name)).length > 0) {
          throw new BackupUsageError(
            'This cluster has tablespaces (pg_tblspc is not empty); @stellaops/backup copies only the data folder. Fix: keep all data in the default tablespace.',
          );
        }
        if (!rel && EXCLUDE_CONTENTS.has(d.name)) continue;
        walk(path);
      } else if (st.isFile()) {
        out.push({ path, type: 'file', mode: st.mode, mtime: st.mtimeMs / 1000, size: st.size });
      }
    }
  };
  walk('');
  const control = statSync(join(dataDir, 'global', 'pg_control'));
  out.push({ path: 'global/pg_control', type: 'file', mode: control.mode, mtime: control.mtimeMs / 1000, size: control.size });
  return out;
}

const CHUNK = 1 << 20;

/**
 * The tar stream of the data folder. Each file is read once up to the size
 * it had when listed (a file that shrank meanwhile is padded with zeros, one
 * that grew is cut: WAL replay repairs both, as with pg_basebackup); a file
 * removed meanwhile (a dropped table) is left out.
 */
async function* tarStream(
  dataDir: string,
  entries: PlannedEntry[],
  files: ManifestFile[],
  extra: () => Promise<{ name: string; data: Buffer }[]>,
  progress: (bytes: number, file: string) => void,
): AsyncGenerator<Buffer> {
  for (const e of entries) {
    if (e.type === 'directory') {
      yield encodeHeader({ name: e.path, type: 'directory', mode: e.mode, size: 0, mtime: e.mtime, linkname: '' });
      continue;
    }
    let fh;
    try {
      fh = await open(join(dataDir, e.path), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      yield encodeHeader({ name: e.path, type: 'file', mode: e.mode, size: e.size, mtime: e.mtime, linkname: '' });
      const hash = createHash('sha256');
      let done = 0;
      while (done < e.size) {
        const want = Math.min(CHUNK, e.size - done);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, done);
        const chunk = bytesRead === 0 ? Buffer.alloc(want) : buf.subarray(0, bytesRead); // shrank: zeros
        hash.update(chunk);
        done += chunk.length;
        yield chunk;
      }
      const pad = padding(e.size);
      if (pad.length) yield pad;
      files.push({ path: e.path, size: e.size, sha256: hash.digest('hex') });
      progress(e.size, e.path);
    } finally {
      await fh.close();
    }
  }
  for (const x of await extra()) {
    yield encodeHeader({ name: x.name, type: 'file', mode: 0o600, size: x.data.length, mtime: Date.now() / 1000, linkname: '' });
    yield x.data;
    const pad = padding(x.data.length);
    if (pad.length) yield pad;
    files.push({ path: x.name, size: x.data.length, sha256: createHash('sha256').update(x.data).digest('hex') });
  }
  yield endOfArchive();
}

/** Flushes a file (or folder) to disk: a backup counts only once it is durable. */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function backupId(label: string | undefined, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const slug = (label ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug ? `${stamp}-${slug}` : stamp;
}

function labelField(label: string, field: string): string {
  const m = new RegExp(`^${field}: (.*)$`, 'm').exec(label);
  if (!m?.[1]) throw new BackupError('BACKUP_LABEL', `backup_label returned by pg_backup_stop has no "${field}" line`);
  return m[1];
}

/** Waits until every segment up to `last` is in the archive folder. */
async function waitForArchive(source: SourceCluster, last: string, timeoutMs: number, onWait: () => void): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const segs = readWalArchive(source.archiveDir).segments;
    if (segs.includes(last)) return;
    if (performance.now() > deadline) {
      const st = await archiveStatus(source.connection, source.archiveDir).catch(() => undefined);
      throw new ArchivingFailedError(
        `WAL segment ${last}, which this backup needs, was not archived into ${source.archiveDir} within ${Math.round(timeoutMs / 1000)} s` +
          `${st?.lastFailedWal ? ` (archiver: last failure ${st.lastFailedWal} at ${st.lastFailedTime})` : ''}. The backup is not usable without it and was removed. ` +
          "Fix: check that the archive folder exists and is writable by the server's OS user, then run the backup again.",
      );
    }
    onWait();
    await sleep(100);
  }
}

/**
 * Takes an online base backup of a running cluster through PostgreSQL 16's
 * low-level API while writes continue: `pg_backup_start` on one session kept
 * open, the data folder copied into `base.tar.gz` (ustar + gzip, per-file
 * SHA-256), `pg_backup_stop` whose `backup_label` is added to the archive,
 * then a restore point at which every user table is counted (for
 * {@link verifyBackup}), and a wait until the WAL up to it is archived. The
 * manifest is written last; on any failure the partial backup is removed,
 * the failure recorded in `status.json`/metrics, and the cluster is
 * unaffected.
 *
 * @example
 * ```ts
 * const m = await takeBackup({
 *   source: { connection: { host: '/run/stellaops', user: 'postgres' }, dataDir: '/var/lib/stellaops/pg/data', archiveDir: '/var/lib/stellaops/pg/wal-archive' },
 *   repository: '/var/lib/stellaops/backups',
 *   label: 'nightly',
 *   onProgress: (p) => console.error(p.message),
 * });
 * console.log(m.id, m.stopLsn);
 * ```
 */
export async function takeBackup(options: BackupOptions): Promise<BackupManifest> {
  const repo = typeof options.repository === 'string' ? new BackupRepository(options.repository) : options.repository;
  const started = Date.now();
  const id = backupId(options.label, new Date(started));
  const dir = repo.backupDir(id);
  try {
    const m = await run(options, repo, id, dir, started);
    repo.recordSuccess(m);
    return m;
  } catch (e) {
    repo.remove(id);
    const err = e instanceof BackupError ? e : wrapWriteError(e, dir);
    repo.recordFailure(err);
    throw err;
  }
}

function wrapWriteError(e: unknown, dir: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES' || code === 'EROFS' || code === 'EIO') {
    return new BackupWriteError(
      `Writing the backup into ${dir} failed (${code}: ${(e as Error).message}). The partial backup was removed; the cluster and its WAL archive are unaffected. ` +
        (code === 'ENOSPC' || code === 'EDQUOT'
          ? 'Fix: free space in the backup repository (or lower --keep), then run the backup again.'
          : 'Fix: make the repository folder writable, then run the backup again.'),
      { cause: e },
    );
  }
  return e;
}

async function run(options: BackupOptions, repo: BackupRepository, id: string, dir: string, started: number): Promise<BackupManifest> {
  const { source } = options;
  const level = options.compressionLevel ?? 1;
  const progress = options.onProgress ?? (() => undefined);
  const status = await archiveStatus(source.connection, source.archiveDir);
  if (!status.ok)
    throw new ArchivingFailedError(`WAL archiving is not working, so a backup could not be restored: ${status.warnings.join(' ')}`);

  repo.ensure();
  mkdirSync(dir, { mode: 0o700 });
  const session = await connect(source.connection, undefined, 'stellaops-backup');
  let stopped = false;
  try {
    const info = (
      await session.query<{ version: string; sysid: string; segsize: string; dbs: string[] }>(
        `select current_setting('server_version') as version, (select system_identifier::text from pg_control_system()) as sysid,
                pg_size_bytes(current_setting('wal_segment_size'))::text as segsize`,
      )
    ).rows[0]!;
    const other = repo.manifests().find((x) => x.systemIdentifier !== info.sysid);
    if (other) {
      throw new BackupUsageError(
        `The repository ${repo.root} holds backups of another cluster (system identifier ${other.systemIdentifier}, backup ${other.id}; this cluster is ${info.sysid}). ` +
          'Mixing them would make restores pick the wrong cluster. Fix: give this cluster its own --repo (and WAL archive folder).',
      );
    }
    const walSegmentSize = Number(info.segsize);
    const databases = options.databases ?? (await statsDatabases(session));
    const label = options.label ?? id;
    progress({ phase: 'start', bytesDone: 0, bytesTotal: 0, message: `pg_backup_start('${label}'), fast checkpoint…` });
    const startTime = (
      await session.query<{ t: Date }>('select pg_backup_start($1, true), clock_timestamp() as t', [label.slice(0, 1000)])
    ).rows[0]!.t.toISOString();

    const entries = plan(source.dataDir);
    const bytesTotal = entries.reduce((s, e) => s + e.size, 0);
    const files: ManifestFile[] = [];
    let bytesDone = 0;
    let stop: { lsn: string; labelfile: string; spcmapfile: string } | undefined;
    const archiveHash = createHash('sha256');
    let archiveBytes = 0;
    const tarFile = join(dir, 'base.tar.gz');
    // called by the tar stream after the last data file: stop the backup, add its label to the archive
    const stopBackup = async () => {
      progress({ phase: 'stop', bytesDone, bytesTotal, message: 'pg_backup_stop()…' });
      const r = await session.query<{ lsn: string; labelfile: string; spcmapfile: string }>(
        'select lsn::text as lsn, labelfile, spcmapfile from pg_backup_stop(false)',
      );
      stop = r.rows[0]!;
      stopped = true;
      const out = [{ name: 'backup_label', data: Buffer.from(stop.labelfile) }];
      if (stop.spcmapfile) out.push({ name: 'tablespace_map', data: Buffer.from(stop.spcmapfile) });
      return out;
    };
    await pipeline(
      Readable.from(
        tarStream(source.dataDir, entries, files, stopBackup, (n, file) => {
          bytesDone += n;
          progress({ phase: 'copy', bytesDone, bytesTotal, message: file });
        }),
      ),
      createGzip({ level, chunkSize: 256 * 1024 }),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          archiveHash.update(chunk);
          archiveBytes += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tarFile, { mode: 0o600 }),
    );
    if (!stop) throw new Error('pg_backup_stop did not run');
    await fsyncPath(tarFile);
    const s = stop;
    const stopTime = new Date();
    const startLsn = labelField(s.labelfile, 'START WAL LOCATION').split(' ')[0]!;
    const startWalFile = /\(file ([0-9A-F]{24})\)/.exec(labelField(s.labelfile, 'START WAL LOCATION'))?.[1] ?? '';
    const timeline = Number(labelField(s.labelfile, 'START TIMELINE'));
    const stopWalFile = segmentName(segmentOfLsn(s.lsn, timeline, walSegmentSize), walSegmentSize);

    progress({ phase: 'stats', bytesDone, bytesTotal, message: `counting rows of ${databases.length} database(s) at restore point…` });
    const rpName = `stellaops-backup-${id}`;
    let rp: { lsn: string; time: string; tables: BackupManifest['tables'] };
    let statsSkipped: string | undefined;
    try {
      rp = await restorePointWithStats(
        source.connection,
        databases.length ? databases : ['postgres'],
        rpName,
        options.lockTimeoutMs ?? 30_000,
      );
    } catch (e) {
      if (!(e instanceof BackupError) || e.code !== 'BACKUP_STATS_LOCK') throw e;
      statsSkipped = e.message; // a restorable backup without counts beats no backup
      progress({ phase: 'stats', bytesDone, bytesTotal, message: `warning: ${e.message}` });
      rp = { ...(await restorePointOnly(source.connection, rpName)), tables: [] };
    }
    await session.query('select pg_switch_wal()');
    const rpWalFile = segmentName(segmentOfLsn(rp.lsn, timeline, walSegmentSize), walSegmentSize);
    progress({ phase: 'archive-wait', bytesDone, bytesTotal, message: `waiting for WAL up to ${rpWalFile} to be archived…` });
    await waitForArchive(source, rpWalFile, options.archiveWaitMs ?? 120_000, () => undefined);

    const manifest: BackupManifest = {
      format: 1,
      id,
      label,
      serverVersion: info.version,
      systemIdentifier: info.sysid,
      timeline,
      walSegmentSize,
      startLsn,
      startWalFile,
      startTime,
      stopLsn: s.lsn,
      stopWalFile,
      stopTime: stopTime.toISOString(),
      restorePoint: { name: rpName, lsn: rp.lsn, time: rp.time, walFile: rpWalFile },
      dataBytes: bytesDone,
      archiveBytes,
      archiveSha256: archiveHash.digest('hex'),
      compression: { format: 'gzip', level },
      durationMs: Date.now() - started,
      files,
      tables: rp.tables,
      ...(statsSkipped ? { tableStatsSkipped: statsSkipped } : {}),
    };
    repo.writeManifest(manifest);
    await fsyncPath(dir);
    progress({
      phase: 'done',
      bytesDone,
      bytesTotal,
      message: `backup ${id} complete: ${(bytesDone / 2 ** 20).toFixed(1)} MiB → ${(archiveBytes / 2 ** 20).toFixed(1)} MiB`,
    });
    return manifest;
  } finally {
    if (!stopped) await session.query('select pg_backup_stop(false)').catch(() => undefined);
    await session.end().catch(() => undefined);
  }
}
