import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withClient, type SuperuserConnection } from './pg-session.js';

/** The state of WAL archiving on a running server, with warnings for `status`. */
export interface ArchiveStatus {
  /** False when archiving is off or failing: a backup taken now could not be restored. */
  ok: boolean;
  archiveMode: string;
  archiveLibrary: string;
  /** `archive_timeout` in seconds: the bound on data at risk (RPO) while writes are slow. */
  archiveTimeoutSeconds: number;
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
  /** Segments waiting in pg_wal/archive_status (`.ready`), when the data folder is readable. */
  pendingSegments: number | null;
  warnings: string[];
}

/**
 * Reads `pg_stat_archiver` and the archive settings. Not ok (with a warning
 * naming the cause and the fix) when archiving is off, when the latest
 * attempt failed (e.g. the archive folder is not writable: PostgreSQL then
 * keeps the WAL in pg_wal and retries), or when the archive folder is gone.
 *
 * @example
 * ```ts
 * const s = await archiveStatus({ host: '/run/stellaops', user: 'postgres' }, '/var/lib/stellaops/wal-archive', '/var/lib/stellaops/data');
 * if (!s.ok) console.warn(s.warnings.join('\n'));
 * ```
 */
export async function archiveStatus(conn: SuperuserConnection, archiveDir?: string, dataDir?: string): Promise<ArchiveStatus> {
  const r = await withClient(conn, undefined, (c) =>
    c.query<{
      mode: string;
      library: string;
      command: string;
      timeout: string;
      archived_count: string;
      last_archived_wal: string | null;
      last_archived_time: Date | null;
      failed_count: string;
      last_failed_wal: string | null;
      last_failed_time: Date | null;
      failing: boolean;
    }>(
      `select current_setting('archive_mode') as mode, current_setting('archive_library') as library, current_setting('archive_command') as command,
              extract(epoch from current_setting('archive_timeout')::interval)::text as timeout,
              archived_count::text, last_archived_wal, last_archived_time, failed_count::text, last_failed_wal, last_failed_time,
              coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) as failing
         from pg_stat_archiver`,
    ),
  );
  const row = r.rows[0]!;
  const warnings: string[] = [];
  if (row.mode === 'off')
    warnings.push(
      "archive_mode is off, so no WAL is archived. Fix: set archive_mode = on (and archive_library = 'basic_archive') and restart the server.",
    );
  else if (!row.library && !row.command)
    warnings.push(
      "archive_mode is on but neither archive_library nor archive_command is set: WAL piles up in pg_wal. Fix: set archive_library = 'basic_archive'.",
    );
  if (row.failing) {
    warnings.push(
      `WAL archiving is failing: ${row.last_failed_wal} could not be archived (last failure ${row.last_failed_time?.toISOString()}, ${row.failed_count} failures so far). ` +
        'PostgreSQL keeps that WAL in pg_wal and retries; nothing is lost yet, but pg_wal grows and new backups cannot be restored. ' +
        `Fix: make ${archiveDir ?? 'the archive folder'} exist and writable by the server's OS user (see the server log for the exact error).`,
    );
  }
  if (archiveDir && row.mode !== 'off' && !existsSync(archiveDir))
    warnings.push(`The WAL archive folder ${archiveDir} does not exist. Fix: create it, owned by the server's OS user.`);
  let pending: number | null = null;
  if (dataDir) {
    try {
      pending = readdirSync(join(dataDir, 'pg_wal', 'archive_status')).filter((n) => n.endsWith('.ready')).length;
    } catch {
      pending = null;
    }
  }
  return {
    ok: warnings.length === 0,
    archiveMode: row.mode,
    archiveLibrary: row.library,
    archiveTimeoutSeconds: Number(row.timeout),
    archivedCount: Number(row.archived_count),
    lastArchivedWal: row.last_archived_wal,
    lastArchivedTime: row.last_archived_time?.toISOString() ?? null,
    failedCount: Number(row.failed_count),
    lastFailedWal: row.last_failed_wal,
    lastFailedTime: row.last_failed_time?.toISOString() ?? null,
    pendingSegments: pending,
    warnings,
  };
}
