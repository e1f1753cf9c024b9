import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupUsageError } from './errors.js';
import type { BackupManifest } from './manifest.js';

/** The outcome of the latest backup and verify runs, kept in `status.json` of the repository. */
export interface BackupStatus {
  lastStatus: 'success' | 'failure' | 'none';
  lastSuccess?: { id: string; finishedAt: string; durationMs: number; archiveBytes: number };
  lastFailure?: { at: string; code: string; message: string };
  failuresTotal: number;
  lastVerify?: { status: 'success' | 'failure'; at: string; backupId?: string; message?: string };
  /** Time of the latest successful verify (kept when a later one fails). */
  lastVerifySuccessAt?: string;
  verifyFailuresTotal: number;
}

/** File name of the Prometheus textfile the repository keeps current. */
export const METRICS_FILE = 'stellaops_backup.prom';

/**
 * A backup repository folder:
 *
 * ```text
 * <root>/backups/<id>/base.tar.gz     data folder (ustar, gzip)
 * <root>/backups/<id>/manifest.json   written last: a folder without it is an incomplete backup
 * <root>/status.json                  last backup/verify outcome (BackupStatus)
 * <root>/stellaops_backup.prom        the same as Prometheus metrics (node_exporter textfile format)
 * ```
 *
 * @example
 * ```ts
 * const repo = new BackupRepository('/var/lib/stellaops/backups');
 * for (const m of repo.manifests()) console.log(m.id, m.stopTime);
 * ```
 */
export class BackupRepository {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** The repository folder. */
  get root(): string {
    return this.#root;
  }

  /** Folder of one backup. */
  backupDir(id: string): string {
    return join(this.#root, 'backups', id);
  }

  /** Creates the repository folders (0700: backups hold every secret of the database). */
  ensure(): void {
    mkdirSync(join(this.#root, 'backups'), { recursive: true, mode: 0o700 });
  }

  /** Complete backups (with a manifest), oldest first. */
  manifests(): BackupManifest[] {
    const dir = join(this.#root, 'backups');
    if (!existsSync(dir)) return [];
    const out: BackupManifest[] = [];
    for (const id of readdirSync(dir).sort()) {
      const file = join(dir, id, 'manifest.json');
      if (existsSync(file)) out.push(JSON.parse(readFileSync(file, 'utf8')) as BackupManifest);
    }
    return out.sort((a, b) => a.stopTime.localeCompare(b.stopTime) || a.id.localeCompare(b.id));
  }

  /** Backup folders without a manifest (a backup that was interrupted hard). */
  incomplete(): string[] {
    const dir = join(this.#root, 'backups');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((id) => !existsSync(join(dir, id, 'manifest.json')));
  }

  /** The manifest of backup `id`. */
  manifest(id: string): BackupManifest {
    const m = this.manifests().find((x) => x.id === id);
    if (!m)
      throw new BackupUsageError(`There is no complete backup "${id}" in ${this.#root}. Fix: pick one from \`stella-db cluster backups\`.`);
    return m;
  }

  /** Writes the manifest atomically: the backup counts as complete from here on. */
  writeManifest(m: BackupManifest): void {
    const file = join(this.backupDir(m.id), 'manifest.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(m, null, 2) + '\n', { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** Removes one backup folder. */
  remove(id: string): void {
    rmSync(this.backupDir(id), { recursive: true, force: true });
  }

  /** The recorded status (empty status when none yet). */
  status(): BackupStatus {
    try {
      return JSON.parse(readFileSync(join(this.#root, 'status.json'), 'utf8')) as BackupStatus;
    } catch {
      return { lastStatus: 'none', failuresTotal: 0, verifyFailuresTotal: 0 };
    }
  }

  /** Records a successful backup (status.json + metrics). */
  recordSuccess(m: BackupManifest): void {
    const s = this.status();
    this.#writeStatus({
      ...s,
      lastStatus: 'success',
      lastSuccess: { id: m.id, finishedAt: m.stopTime, durationMs: m.durationMs, archiveBytes: m.archiveBytes },
    });
  }

  /** Records a failed backup; never throws (the repository may be the thing that is full). */
  recordFailure(error: unknown): void {
    try {
      const s = this.status();
      const code = (error as { code?: unknown }).code;
      this.#writeStatus({
        ...s,
        lastStatus: 'failure',
        failuresTotal: s.failuresTotal + 1,
        lastFailure: {
          at: new Date().toISOString(),
          code: typeof code === 'string' ? code : 'ERROR',
          message: error instanceof Error ? error.message : String(error),
        },
      });
    } catch {
      // nothing more to do: the caller reports the original error
    }
  }

  /** Records a verify (restore drill) outcome. */
  recordVerify(ok: boolean, backupId: string | undefined, message?: string): void {
    try {
      const s = this.status();
      this.#writeStatus({
        ...s,
        verifyFailuresTotal: s.verifyFailuresTotal + (ok ? 0 : 1),
        ...(ok ? { lastVerifySuccessAt: new Date().toISOString() } : {}),
        lastVerify: {
          status: ok ? 'success' : 'failure',
          at: new Date().toISOString(),
          ...(backupId ? { backupId } : {}),
          ...(message ? { message } : {}),
        },
      });
    } catch {
      // as recordFailure
    }
  }

  /** Rewrites the metrics file from status.json and the manifests (after retention, say). */
  refreshMetrics(): void {
    this.#writeStatus(this.status());
  }

  #writeStatus(s: BackupStatus): void {
    this.ensure();
    const file = join(this.#root, 'status.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2) + '\n', { mode: 0o644 });
    renameSync(`${file}.tmp`, file);
    const prom = join(this.#root, METRICS_FILE);
    writeFileSync(`${prom}.tmp`, renderMetrics(s, this.manifests()), { mode: 0o644 });
    renameSync(`${prom}.tmp`, prom);
  }
}

/** The Prometheus text exposition of a repository's status (see the README for each metric). */
export function renderMetrics(s: BackupStatus, manifests: BackupManifest[]): string {
  const ts = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : 0);
  const newest = manifests.at(-1);
  const oldest = manifests[0];
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  };
  metric(
    'stellaops_backup_last_success_timestamp_seconds',
    'gauge',
    'End time of the newest successful base backup (0: none yet).',
    ts(s.lastSuccess?.finishedAt),
  );
  metric(
    'stellaops_backup_last_status',
    'gauge',
    '1 if the latest backup run succeeded, 0 if it failed, -1 if none ran.',
    s.lastStatus === 'success' ? 1 : s.lastStatus === 'failure' ? 0 : -1,
  );
  metric('stellaops_backup_failures_total', 'counter', 'Backup runs that failed.', s.failuresTotal);
  metric(
    'stellaops_backup_last_failure_timestamp_seconds',
    'gauge',
    'Time of the latest failed backup run (0: none).',
    ts(s.lastFailure?.at),
  );
  metric(
    'stellaops_backup_last_duration_seconds',
    'gauge',
    'Duration of the newest successful backup.',
    (s.lastSuccess?.durationMs ?? 0) / 1000,
  );
  metric('stellaops_backup_last_size_bytes', 'gauge', 'Compressed size of the newest successful backup.', s.lastSuccess?.archiveBytes ?? 0);
  metric('stellaops_backup_count', 'gauge', 'Complete base backups in the repository.', manifests.length);
  metric(
    'stellaops_backup_oldest_restorable_timestamp_seconds',
    'gauge',
    'Earliest point in time a restore can reach (end of the oldest backup).',
    ts(oldest?.stopTime),
  );
  metric(
    'stellaops_backup_newest_stop_timestamp_seconds',
    'gauge',
    'End time of the newest backup in the repository.',
    ts(newest?.stopTime),
  );
  metric(
    'stellaops_backup_verify_last_success_timestamp_seconds',
    'gauge',
    'Time of the latest successful restore drill (verify); 0: none.',
    ts(s.lastVerifySuccessAt),
  );
  metric('stellaops_backup_verify_failures_total', 'counter', 'Restore drills (verify) that failed.', s.verifyFailuresTotal);
  return lines.join('\n') + '\n';
}
