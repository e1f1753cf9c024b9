import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fchownSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { canTraverse, EmbeddedCluster, freePort, type PgBinaries, type RunAs } from '@stellaops/embedded-server';
import { BackupChecksumMismatchError, BackupUsageError, RestoreFailedError, RestoreTargetError } from './errors.js';
import type { BackupManifest } from './manifest.js';
import { connect, type SuperuserConnection } from './pg-session.js';
import { BackupRepository } from './repository.js';
import { readTar } from './tar.js';
import {
  assertContinuous,
  compareLsn,
  isLsn,
  newestSegment,
  parseSegmentName,
  readWalArchive,
  segmentName,
  segmentOfLsn,
  type Lsn,
  type WalSegment,
} from './wal.js';

/** Where a restore stops. */
export type RestoreTarget =
  { kind: 'latest' } | { kind: 'immediate' } | { kind: 'time'; time: Date } | { kind: 'lsn'; lsn: Lsn } | { kind: 'name'; name: string };

/**
 * Parses `--to`: `latest`, `immediate` (end of the backup), an LSN (`0/3000060`),
 * an ISO time with a zone (`2026-12-03T10:15:00Z`), else a restore point name.
 *
 * @example
 * ```ts
 * parseRestoreTarget('2026-12-03T10:15:00Z') // { kind: 'time', time: … }
 * ```
 */
export function parseRestoreTarget(text: string): RestoreTarget {
  const t = text.trim();
  if (t === '') throw new BackupUsageError('--to is empty. Fix: give latest, an ISO time with zone, an LSN (X/Y) or a restore point name.');
  if (t === 'latest') return { kind: 'latest' };
  if (t === 'immediate') return { kind: 'immediate' };
  if (isLsn(t)) return { kind: 'lsn', lsn: t.toUpperCase() };
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) {
    if (!/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(t)) throw new BackupUsageError(`--to ${t} has no time zone. Fix: add one, e.g. ${t}Z for UTC.`);
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isNaN(ms)) throw new BackupUsageError(`--to ${t} is not a valid time. Fix: use ISO 8601, e.g. 2026-12-03T10:15:00Z.`);
    return { kind: 'time', time: new Date(ms) };
  }
  return { kind: 'name', name: t };
}

/** Describes a target for messages and logs. */
export function describeTarget(t: RestoreTarget): string {
  switch (t.kind) {
    case 'time':
      return `time ${t.time.toISOString()}`;
    case 'lsn':
      return `LSN ${t.lsn}`;
    case 'name':
      return `restore point "${t.name}"`;
    default:
      return t.kind;
  }
}

/** Options of {@link restoreBackup}. */
export interface RestoreOptions {
  repository: string | BackupRepository;
  /** The WAL archive folder (read by the restored server's `restore_command`, as its OS user). */
  archiveDir: string;
  /** Where to stop (a {@link RestoreTarget} or `--to` text). */
  target: RestoreTarget | string;
  /** New data folder (must not exist or be empty); its parent must be reachable by the server's OS user. */
  into: string;
  binaries: PgBinaries;
  runAs: RunAs | undefined;
  /** TCP port of the restored server on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Restore from this backup instead of the newest suitable one. */
  backupId?: string;
  /** Start the restored server, replay and promote (default true; false: leave it ready to start). */
  start?: boolean;
  /**
   * Restore over the cluster's own data folder (`into`). Needs `confirm: true`
   * and the cluster stopped; the old folder is kept beside it as
   * `<into>.before-restore-<time>`, never deleted. The server is not started:
   * start the cluster as usual and it replays to the target, then promotes.
   */
  inPlace?: { confirm: boolean };
  /** Bound on replay until promotion (default 1 h). */
  replayTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

/** A restored server, running (unless `start: false`) and promoted. */
export interface RestoredServer {
  backup: BackupManifest;
  target: RestoreTarget;
  dataDir: string;
  port: number;
  /** Folder of its Unix socket. */
  socketDir: string;
  /** Superuser connection over the socket (local trust, as initdb set it up). */
  connection: SuperuserConnection;
  /** Where replay ended (`pg_last_wal_replay_lsn`), after promotion. */
  replayedToLsn: Lsn | null;
  /** Milliseconds to extract the base backup, and from server start to promotion. */
  extractMs: number;
  replayMs: number;
  running: boolean;
  /** Stops the restored server (fast shutdown). */
  stop(): Promise<void>;
  /** Stops it and removes its data and socket folders. */
  destroy(): Promise<void>;
}

function lastNeededSegment(m: BackupManifest, target: RestoreTarget, archiveDir: string): WalSegment {
  const archive = readWalArchive(archiveDir);
  const startSeg = parseSegmentName(m.startWalFile, m.walSegmentSize)!;
  if (target.kind === 'immediate') return parseSegmentName(m.stopWalFile, m.walSegmentSize)!;
  if (target.kind === 'name' && target.name === m.restorePoint.name) return parseSegmentName(m.restorePoint.walFile, m.walSegmentSize)!;
  if (target.kind === 'lsn') return segmentOfLsn(target.lsn, m.timeline, m.walSegmentSize);
  // time, latest, other names: all archived WAL of the timeline must be there
  return newestSegment(archive, m.timeline, m.walSegmentSize) ?? startSeg;
}

/** Chooses the backup to restore for `target` (the newest that ends before it). */
export function chooseBackup(manifests: BackupManifest[], target: RestoreTarget, archiveDir: string, backupId?: string): BackupManifest {
  if (manifests.length === 0)
    throw new BackupUsageError('The backup repository has no complete backup. Fix: take one with `stella-db cluster backup`.');
  const oldest = manifests[0]!;
  const pick = (ok: (m: BackupManifest) => boolean, what: string): BackupManifest => {
    if (backupId) {
      const m = manifests.find((x) => x.id === backupId);
      if (!m) throw new BackupUsageError(`There is no complete backup "${backupId}". Fix: pick one from \`stella-db cluster backups\`.`);
      if (!ok(m))
        throw new RestoreTargetError(
          `Backup ${backupId} ends after the target ${what}, so it cannot be restored to it. Fix: choose an older backup or leave the choice to restore.`,
        );
      return m;
    }
    const m = manifests.filter(ok).at(-1);
    if (!m) {
      throw new RestoreTargetError(
        `The target ${what} is before the earliest restorable point: the oldest backup ${oldest.id} ends at ${oldest.stopTime} (LSN ${oldest.stopLsn}). ` +
          'A restore can only reach points after the end of a base backup. Fix: choose a later target.',
      );
    }
    return m;
  };
  switch (target.kind) {
    case 'time': {
      const m = pick((x) => Date.parse(x.stopTime) <= target.time.getTime(), describeTarget(target));
      const archive = readWalArchive(archiveDir);
      const last = newestSegment(archive, m.timeline, m.walSegmentSize);
      const lastFile = last
        ? join(
            archiveDir,
            archive.segments.find(
              (s) =>
                parseSegmentName(s, m.walSegmentSize)?.number === last.number &&
                parseSegmentName(s, m.walSegmentSize)?.timeline === last.timeline,
            ) ?? '',
          )
        : '';
      const lastTime = lastFile && existsSync(lastFile) ? statSync(lastFile).mtime : undefined;
      if (!lastTime || target.time.getTime() > lastTime.getTime()) {
        throw new RestoreTargetError(
          `The target ${describeTarget(target)} is after the newest archived WAL (archived ${lastTime?.toISOString() ?? 'never'}): replay could not reach it. ` +
            'WAL not archived yet is at most archive_timeout old. Fix: use --to latest, or wait for archiving (or run select pg_switch_wal() on the cluster) and retry.',
        );
      }
      return m;
    }
    case 'lsn': {
      const m = pick((x) => compareLsn(x.stopLsn, target.lsn) <= 0, describeTarget(target));
      const newest = newestSegment(readWalArchive(archiveDir), m.timeline, m.walSegmentSize);
      if (!newest || segmentOfLsn(target.lsn, m.timeline, m.walSegmentSize).number > newest.number) {
        throw new RestoreTargetError(
          `The target ${describeTarget(target)} is after the newest archived WAL (${newest ? segmentName(newest, m.walSegmentSize) : 'none'}): replay could not reach it. ` +
            'Fix: use --to latest, or wait for archiving (or run select pg_switch_wal() on the cluster) and retry.',
        );
      }
      return m;
    }
    case 'name': {
      const own = manifests.find((x) => x.restorePoint.name === target.name);
      if (own && !backupId) return own;
      return backupId ? pick(() => true, describeTarget(target)) : oldest; // unknown name: replay from the oldest backup
    }
    default:
      return backupId ? pick(() => true, target.kind) : manifests.at(-1)!;
  }
}

/** Settings appended to postgresql.auto.conf of the restored data folder. */
function recoverySettings(target: RestoreTarget, archiveDir: string): string[] {
  if (!/^[A-Za-z0-9_./-]+$/.test(archiveDir)) {
    throw new BackupUsageError(
      `The archive folder path ${archiveDir} has characters that restore_command cannot quote safely. Fix: use a path of letters, digits, '_', '-', '.', '/'.`,
    );
  }
  const lines = [`restore_command = 'cp "${archiveDir}/%f" "%p"'`, "recovery_target_timeline = 'latest'"];
  switch (target.kind) {
    case 'time':
      lines.push(
        `recovery_target_time = '${target.time.toISOString().replace('T', ' ').replace('Z', '+00')}'`,
        "recovery_target_action = 'promote'",
      );
      break;
    case 'lsn':
      lines.push(`recovery_target_lsn = '${target.lsn}'`, "recovery_target_action = 'promote'");
      break;
    case 'name':
      lines.push(`recovery_target_name = '${target.name.replace(/'/g, "''")}'`, "recovery_target_action = 'promote'");
      break;
    case 'immediate':
      lines.push("recovery_target = 'immediate'", "recovery_target_action = 'promote'");
      break;
    default:
      break; // latest: replay all archived WAL, then promote
  }
  return lines;
}

/**
 * Rewrites postgresql.auto.conf with `settings` at the end, dropping the
 * recovery settings of an earlier restore (two different recovery targets
 * would stop the server with "multiple recovery targets specified").
 */
function writeAutoConf(file: string, settings: string[]): void {
  const kept = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(
          (l) =>
            !/^\s*(restore_command|recovery_target\w*)\s*=/.test(l) && !l.startsWith('# --- point-in-time restore by @stellaops/backup'),
        )
    : [];
  writeFileSync(file, [...kept, ...settings].join('\n'), { mode: 0o600 });
}

function chownTo(path: string, runAs: RunAs | undefined): void {
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/**
 * Extracts a backup into `into`, checking the SHA-256 of the archive and of
 * every file against the manifest. Throws {@link BackupChecksumMismatchError}
 * naming the damaged file (and removes what was extracted).
 */
export async function extractBackup(repo: BackupRepository, m: BackupManifest, into: string, runAs: RunAs | undefined): Promise<void> {
  const tarFile = join(repo.backupDir(m.id), 'base.tar.gz');
  if (!existsSync(tarFile))
    throw new BackupChecksumMismatchError(
      m.id,
      'base.tar.gz',
      `Backup ${m.id} has no base.tar.gz (${tarFile} is missing). Fix: restore from another backup.`,
    );
  const expected = new Map(m.files.map((f) => [f.path, f]));
  const archiveHash = createHash('sha256');
  const root = resolve(into);
  const safe = (name: string) => {
    const p = resolve(root, name);
    if (p !== root && !p.startsWith(`${root}/`))
      throw new BackupChecksumMismatchError(
        m.id,
        name,
        `Backup ${m.id} contains a path outside the data folder (${name}); refusing to extract it.`,
      );
    return p;
  };
  try {
    await pipeline(
      createReadStream(tarFile, { highWaterMark: 1 << 20 }),
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          archiveHash.update(chunk);
          cb(null, chunk);
        },
      }),
      createGunzip({ chunkSize: 1 << 20 }),
      async (source: AsyncIterable<Buffer>) => {
        await readTar(source, {
          entry: async (h) => {
            const path = safe(h.name);
            if (h.type === 'directory') {
              mkdirSync(path, { recursive: true, mode: 0o700 });
              chownTo(path, runAs);
              return undefined;
            }
            if (h.type !== 'file') return undefined;
            const want = expected.get(h.name);
            if (!want)
              throw new BackupChecksumMismatchError(
                m.id,
                h.name,
                `Backup ${m.id}: base.tar.gz holds ${h.name}, which its manifest does not list (tampered or damaged archive). Fix: restore from another backup.`,
              );
            mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
            const fh: FileHandle = await open(
              path,
              constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
              0o600,
            );
            if (runAs) await fh.chown(runAs.uid, runAs.gid);
            return {
              write: async (chunk: Buffer) => {
                await fh.write(chunk);
              },
              end: async (sha256: string) => {
                await fh.close();
                if (sha256 !== want.sha256) {
                  throw new BackupChecksumMismatchError(
                    m.id,
                    h.name,
                    `Backup ${m.id} is damaged: ${h.name} in base.tar.gz has SHA-256 ${sha256}, the manifest says ${want.sha256}. Fix: restore from another backup.`,
                  );
                }
                expected.delete(h.name);
              },
            };
          },
        });
      },
    );
  } catch (e) {
    if (e instanceof BackupChecksumMismatchError) throw e;
    const digest = archiveHash.digest('hex');
    throw new BackupChecksumMismatchError(
      m.id,
      'base.tar.gz',
      `Backup ${m.id} is damaged: base.tar.gz could not be read (${(e as Error).message})${digest !== m.archiveSha256 ? '; its SHA-256 does not match the manifest' : ''}. Fix: restore from another backup.`,
      { cause: e },
    );
  }
  const digest = archiveHash.digest('hex');
  if (digest !== m.archiveSha256) {
    throw new BackupChecksumMismatchError(
      m.id,
      'base.tar.gz',
      `Backup ${m.id} is damaged: base.tar.gz has SHA-256 ${digest}, the manifest says ${m.archiveSha256}. Fix: restore from another backup.`,
    );
  }
  if (expected.size > 0) {
    const first = [...expected.keys()][0]!;
    throw new BackupChecksumMismatchError(
      m.id,
      first,
      `Backup ${m.id} is incomplete: ${first} (and ${expected.size - 1} more) listed in the manifest is not in base.tar.gz. Fix: restore from another backup.`,
    );
  }
  for (const d of ['pg_wal', join('pg_wal', 'archive_status')]) {
    mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
    chownTo(join(root, d), runAs);
  }
}

function prepareTarget(into: string, runAs: RunAs | undefined, inPlace: boolean): string | undefined {
  let movedAside: string | undefined;
  if (existsSync(into) && readdirSync(into).length > 0) {
    if (!inPlace)
      throw new BackupUsageError(
        `${into} is not empty. Fix: give --into a new folder (a restore never overwrites data unless --in-place).`,
      );
    const pidFile = join(into, 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive)
        throw new BackupUsageError(
          `The cluster in ${into} is running (postmaster pid ${pid}). Fix: stop it first (stella-db cluster down); an in-place restore never touches a running cluster.`,
        );
    }
    movedAside = `${into}.before-restore-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    renameSync(into, movedAside);
  }
  mkdirSync(into, { recursive: true, mode: 0o700 });
  chmodSync(into, 0o700);
  chownTo(into, runAs);
  return movedAside;
}

/**
 * Point-in-time restore: picks the newest base backup that ends before the
 * target, checks that every WAL segment the replay needs is archived (else
 * {@link WalSegmentMissingError} naming it), extracts and checks the backup,
 * writes `recovery.signal` with `restore_command` and the target, then starts
 * it as a separate server (127.0.0.1, its own port and socket folder,
 * archiving off) and waits until it has replayed to the target and promoted.
 *
 * @example
 * ```ts
 * const r = await restoreBackup({ repository, archiveDir, target: '2026-12-03T10:15:00Z', into: '/var/tmp/restore-1', binaries, runAs });
 * console.log(`inspect: psql -h ${r.socketDir} -p ${r.port} -U postgres`);
 * await r.stop();
 * ```
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoredServer> {
  const repo = typeof options.repository === 'string' ? new BackupRepository(options.repository) : options.repository;
  const target = typeof options.target === 'string' ? parseRestoreTarget(options.target) : options.target;
  const say = options.onProgress ?? (() => undefined);
  const inPlace = options.inPlace !== undefined;
  if (inPlace && options.inPlace?.confirm !== true) {
    throw new BackupUsageError(
      `An in-place restore replaces the cluster's data in ${options.into}. Fix: confirm it (--in-place --yes) with the cluster stopped, or restore into a new folder.`,
    );
  }
  const into = resolve(options.into);
  if (options.runAs) {
    for (const [path, what] of [
      [dirname(into), 'the parent of the restore folder'],
      [options.archiveDir, 'the WAL archive folder'],
    ] as const) {
      if (!canTraverse(path, options.runAs)) {
        throw new BackupUsageError(
          `${what} (${path}) is not reachable by OS user "${options.runAs.name}", which the restored server runs as. ` +
            'Fix: choose a folder whose parents it may enter (e.g. under /var/lib or /var/tmp; not /root or a 0700 mktemp -d folder).',
        );
      }
    }
  }
  const m = chooseBackup(repo.manifests(), target, options.archiveDir, options.backupId);
  const archive = readWalArchive(options.archiveDir);
  assertContinuous(
    archive,
    parseSegmentName(m.startWalFile, m.walSegmentSize)!,
    lastNeededSegment(m, target, options.archiveDir),
    m.walSegmentSize,
    options.archiveDir,
  );
  say(`restoring backup ${m.id} (ended ${m.stopTime}) to ${describeTarget(target)} into ${into}`);

  const movedAside = prepareTarget(into, options.runAs, inPlace);
  if (movedAside) say(`the previous data folder was kept as ${movedAside}`);
  const t0 = Date.now();
  try {
    await extractBackup(repo, m, into, options.runAs);
  } catch (e) {
    rmSync(into, { recursive: true, force: true });
    if (movedAside) renameSync(movedAside, into);
    throw e;
  }
  const extractMs = Date.now() - t0;
  say(`extracted ${(m.dataBytes / 2 ** 20).toFixed(1)} MiB in ${(extractMs / 1000).toFixed(1)} s; checksums match the manifest`);

  const socketDir = inPlace ? '' : mkdtempSync(join(tmpdir(), 'stella-restore-'));
  if (socketDir) chownTo(socketDir, options.runAs);
  const port = options.port ?? (await freePort());
  const settings = [
    '',
    `# --- point-in-time restore by @stellaops/backup: backup ${m.id}, target ${describeTarget(target)}, ${new Date().toISOString()} ---`,
    ...recoverySettings(target, options.archiveDir),
    ...(inPlace
      ? []
      : ["archive_mode = 'off'", `unix_socket_directories = '${socketDir}'`, "listen_addresses = '127.0.0.1'", `port = ${port}`]),
    '',
  ];
  writeAutoConf(join(into, 'postgresql.auto.conf'), settings);
  writeFileSync(join(into, 'recovery.signal'), '', { mode: 0o600 });
  chownTo(join(into, 'recovery.signal'), options.runAs);
  chownTo(join(into, 'postgresql.auto.conf'), options.runAs);

  const connection: SuperuserConnection = { host: socketDir, port, user: 'postgres', database: 'postgres' };
  const logFile = join(into, 'stellaops-restore.log');
  const cluster = new EmbeddedCluster({
    binaries: options.binaries,
    runAs: options.runAs,
    dataDir: into,
    logFile,
    superuserPassword: '',
    settings: {},
  });
  const server: RestoredServer = {
    backup: m,
    target,
    dataDir: into,
    port,
    socketDir,
    connection,
    replayedToLsn: null,
    extractMs,
    replayMs: 0,
    running: false,
    stop: async () => {
      await cluster.stop();
      server.running = false;
    },
    destroy: async () => {
      await cluster.stop({ mode: 'immediate' });
      server.running = false;
      rmSync(into, { recursive: true, force: true });
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    },
  };
  if (options.start === false || inPlace) return server;

  const t1 = Date.now();
  const pid = startDetached(options.binaries, into, port, logFile, options.runAs);
  server.running = true;
  try {
    server.replayedToLsn = await waitForPromotion(cluster, pid, connection, options.replayTimeoutMs ?? 3_600_000, say);
  } catch (e) {
    await cluster.stop({ mode: 'immediate' }).catch(() => undefined);
    server.running = false;
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    // the data folder stays for diagnosis (its log: stellaops-restore.log); remove it before retrying
    throw e instanceof RestoreFailedError
      ? e
      : new RestoreFailedError(`The restored server in ${into} did not finish recovery: ${(e as Error).message}`, cluster.logTail(30), {
          cause: e,
        });
  }
  server.replayMs = Date.now() - t1;
  say(
    `replayed WAL to ${server.replayedToLsn} and promoted in ${(server.replayMs / 1000).toFixed(1)} s; server on 127.0.0.1:${port}, socket ${socketDir}`,
  );
  return server;
}

function startDetached(binaries: PgBinaries, dataDir: string, port: number, logFile: string, runAs: RunAs | undefined): number {
  const fd = openSync(logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if (runAs) fchownSync(fd, runAs.uid, runAs.gid);
    const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
    });
    child.unref();
    return child.pid ?? -1;
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForPromotion(
  cluster: EmbeddedCluster,
  pid: number,
  conn: SuperuserConnection,
  timeoutMs: number,
  say: (m: string) => void,
): Promise<Lsn | null> {
  const deadline = performance.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    if (!alive(pid) && !cluster.runningPid()) {
      throw new RestoreFailedError(
        `The restored server stopped during recovery (see its log below: a missing WAL file, or a target the WAL never reaches). Its folder ${cluster.dataDir} is kept for diagnosis; remove it before retrying.`,
        cluster.logTail(30),
      );
    }
    try {
      const c = await connect(conn, 'postgres', 'stellaops-restore');
      try {
        const r = await c.query<{ rec: boolean; lsn: string | null }>(
          'select pg_is_in_recovery() as rec, pg_last_wal_replay_lsn()::text as lsn',
        );
        const row = r.rows[0]!;
        if (!row.rec) return row.lsn;
        if (Date.now() - lastReport > 2000) {
          say(`replaying WAL… at ${row.lsn}`);
          lastReport = Date.now();
        }
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (e) {
      if (e instanceof RestoreFailedError) throw e;
      // not accepting connections yet (before consistency): keep waiting
    }
    if (performance.now() > deadline)
      throw new RestoreFailedError(`Recovery did not finish within ${Math.round(timeoutMs / 1000)} s.`, cluster.logTail(30));
    await sleep(50);
  }
}
