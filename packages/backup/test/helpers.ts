import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedCluster, freePort, locateBinaries, serverRunAs, type PgBinaries, type RunAs } from '@stellaops/embedded-server';
import type { SourceCluster, BackupVerifyOptions } from '../src/index.js';

/** A real PostgreSQL 16 with WAL archiving (basic_archive) on, in a folder the server's OS user can reach. */
export interface ArchivingCluster {
  root: string;
  cluster: EmbeddedCluster;
  source: SourceCluster;
  repo: string;
  archiveDir: string;
  binaries: PgBinaries;
  runAs: RunAs | undefined;
  port: number;
  password: string;
  /** A superuser client on `database` (closed by the caller). */
  client(database?: string): Promise<pg.Client>;
  /** Forces a WAL switch and waits until that segment is archived. */
  switchAndWait(): Promise<void>;
  /** Stops the server and removes every folder. */
  destroy(): Promise<void>;
}

/** Starts a cluster for the tests under /dev/shm (tmpfs, reachable by OS user postgres). */
export async function startArchivingCluster(parent = '/dev/shm', extraSettings: Record<string, string> = {}): Promise<ArchivingCluster> {
  const runAs = serverRunAs();
  const root = mkdtempSync(join(parent, 'stella-backup-test-'));
  chmodSync(root, 0o711);
  const binaries = locateBinaries(runAs, join(parent, 'stella-backup-test-bin'));
  const archiveDir = join(root, 'wal-archive');
  const socketDir = join(root, 'sock');
  for (const d of [archiveDir, socketDir]) {
    mkdirSync(d, { mode: 0o700 });
    if (runAs) chownSync(d, runAs.uid, runAs.gid);
  }
  const repo = join(root, 'repo');
  const password = randomBytes(12).toString('hex');
  const dataDir = join(root, 'data');
  const cluster = new EmbeddedCluster({
    binaries,
    runAs,
    dataDir,
    logFile: join(root, 'server.log'),
    superuserPassword: password,
    settings: {
      timezone: 'UTC',
      fsync: 'off',
      max_connections: '50',
      wal_level: 'replica',
      archive_mode: 'on',
      archive_library: 'basic_archive',
      'basic_archive.archive_directory': archiveDir,
      archive_timeout: '60s',
      unix_socket_directories: socketDir,
      ...extraSettings,
    },
  });
  await cluster.initialize();
  const port = await freePort();
  await cluster.start(port);
  const connection = { host: socketDir, port, user: 'postgres', database: 'postgres' };
  const client = async (database = 'postgres') => {
    const c = new pg.Client({ ...connection, database });
    await c.connect();
    return c;
  };
  return {
    root,
    cluster,
    source: { connection, dataDir, archiveDir },
    repo,
    archiveDir,
    binaries,
    runAs,
    port,
    password,
    client,
    async switchAndWait() {
      const c = await client();
      try {
        const { rows } = await c.query<{ f: string }>('select pg_walfile_name(pg_switch_wal()) as f');
        const f = rows[0]!.f;
        for (let i = 0; i < 600; i++) {
          const r = await c.query<{ w: string | null }>('select last_archived_wal as w from pg_stat_archiver');
          if (r.rows[0]?.w && r.rows[0].w >= f) return;
          await new Promise((res) => setTimeout(res, 50));
        }
        throw new Error(`segment ${f} was not archived within 30 s`);
      } finally {
        await c.end();
      }
    },
    async destroy() {
      await cluster.stop({ mode: 'immediate' });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A folder for restores next to the cluster (reachable by the server's OS user). */
export function restoreDir(c: ArchivingCluster, name: string): string {
  return join(c.root, 'restores', name);
}

/** Ensures the parent of restore folders exists. */
export function ensureRestoresParent(c: ArchivingCluster): void {
  mkdirSync(join(c.root, 'restores'), { recursive: true, mode: 0o711 });
  chmodSync(join(c.root, 'restores'), 0o711);
}

/**
 * Starts an archiving cluster with what the drills share: the restores
 * folder, a database `stellaops`, the login role `stellaops_app` (password
 * {@link ArchivingCluster.password}) and then `schemaSql` run in `stellaops`
 * as the superuser.
 *
 * @example
 * ```ts
 * c = await startStellaopsCluster('create schema drill; grant usage on schema drill to stellaops_app;');
 * ```
 */
export async function startStellaopsCluster(schemaSql: string): Promise<ArchivingCluster> {
  const c = await startArchivingCluster();
  ensureRestoresParent(c);
  const s = await c.client();
  try {
    await s.query('create database stellaops');
  } finally {
    await s.end();
  }
  const db = await c.client('stellaops');
  try {
    await db.query(`create role stellaops_app login password '${c.password}'`);
    await db.query(schemaSql);
  } finally {
    await db.end();
  }
  return c;
}

/** What `verifyBackup` needs to drill-restore `c`'s newest backup next to it (scratch folders under `c.root`). */
export function verifyOptions(c: ArchivingCluster): BackupVerifyOptions {
  return { repository: c.repo, archiveDir: c.archiveDir, binaries: c.binaries, runAs: c.runAs, scratchRoot: c.root };
}
