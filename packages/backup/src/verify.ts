import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PgBinaries, RunAs } from '@stellaops/embedded-server';
import { BackupError } from './errors.js';
import type { TableStats } from './manifest.js';
import { withClient } from './pg-session.js';
import { BackupRepository } from './repository.js';
import { restoreBackup, type RestoredServer } from './restore.js';
import { countTables, statsDatabases, userTables } from './table-stats.js';

/** Options of {@link verifyBackup}. */
export interface BackupVerifyOptions {
  repository: string | BackupRepository;
  archiveDir: string;
  binaries: PgBinaries;
  runAs: RunAs | undefined;
  /** Backup to check (default: the newest). */
  backupId?: string;
  /** Parent of the scratch folder (must be reachable by the server's OS user; default /var/tmp). */
  scratchRoot?: string;
  onProgress?: (message: string) => void;
}

/** What a restore drill found. */
export interface BackupVerifyReport {
  ok: boolean;
  backupId: string;
  /** Seconds from start to a promoted, checked server (the measured RTO of this backup). */
  restoreSeconds: number;
  indexesChecked: number;
  tablesChecked: number;
  /** Every difference found (empty when ok). */
  problems: string[];
  /** What could not be checked (a backup without row counts). */
  warnings: string[];
}

/**
 * The weekly restore drill: restores the newest backup (to its own restore
 * point) into a scratch folder, starts it, runs `amcheck`'s
 * `bt_index_check` on every B-tree index of the user schemas, compares each
 * table's row count and checksum with the manifest, and removes the scratch
 * folder. The outcome goes into `status.json` and the metrics.
 *
 * @example
 * ```ts
 * const report = await verifyBackup({ repository, archiveDir, binaries, runAs });
 * if (!report.ok) console.error(report.problems.join('\n'));
 * ```
 */
export async function verifyBackup(options: BackupVerifyOptions): Promise<BackupVerifyReport> {
  const repo = typeof options.repository === 'string' ? new BackupRepository(options.repository) : options.repository;
  const say = options.onProgress ?? (() => undefined);
  const manifests = repo.manifests();
  const m = options.backupId ? repo.manifest(options.backupId) : manifests.at(-1);
  if (!m)
    throw new BackupError(
      'BACKUP_NONE',
      `There is no complete backup in ${repo.root} to verify. Fix: take one with \`stella-db cluster backup\`.`,
    );
  const scratchParent = mkdtempSync(join(options.scratchRoot ?? '/var/tmp', 'stella-verify-'));
  chmodSync(scratchParent, 0o711); // the server's OS user passes through to the data folder
  const started = Date.now();
  let server: RestoredServer | undefined;
  const problems: string[] = [];
  let indexes = 0;
  try {
    server = await restoreBackup({
      repository: repo,
      archiveDir: options.archiveDir,
      target: { kind: 'name', name: m.restorePoint.name },
      backupId: m.id,
      into: join(scratchParent, 'data'),
      binaries: options.binaries,
      runAs: options.runAs,
      onProgress: say,
    });
    const byDb = new Map<string, TableStats[]>();
    for (const t of m.tables) {
      const db = t.table.slice(0, t.table.indexOf('.'));
      byDb.set(db, [...(byDb.get(db) ?? []), t]);
    }
    // every database of the restored server gets amcheck, even one without recorded counts
    for (const db of await withClient(server.connection, 'postgres', (c) => statsDatabases(c))) if (!byDb.has(db)) byDb.set(db, []);
    for (const [db, expected] of byDb) {
      await withClient(server.connection, db, async (c) => {
        await c.query('create extension if not exists amcheck');
        const idx = await c.query<{ name: string }>(
          `select format('%I.%I', n.nspname, i.relname) as name
             from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace join pg_am a on a.oid = i.relam
            where a.amname = 'btree' and i.relpersistence = 'p' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
        );
        for (const { name } of idx.rows) {
          try {
            await c.query('select bt_index_check($1::regclass, true)', [name]);
            indexes++;
          } catch (e) {
            problems.push(`amcheck: index ${db}.${name} is corrupt: ${(e as Error).message}`);
          }
        }
        const present = new Set((await userTables(c)).map((t) => `${db}.${t}`));
        const missing = expected.filter((t) => !present.has(t.table));
        for (const t of missing) problems.push(`table ${t.table} is missing in the restored server`);
        await c.query('begin isolation level repeatable read read only');
        const found = await countTables(
          c,
          db,
          expected.filter((t) => present.has(t.table)).map((t) => t.table.slice(db.length + 1)),
          new Map(expected.map((t) => [t.table, t.method])),
        );
        await c.query('commit');
        const want = new Map(expected.map((t) => [t.table, t]));
        for (const f of found) {
          const w = want.get(f.table)!;
          if (f.rows !== w.rows) problems.push(`table ${f.table}: ${f.rows} rows restored, the manifest recorded ${w.rows}`);
          else if (f.checksum !== w.checksum)
            problems.push(`table ${f.table}: content checksum differs from the manifest (same row count ${f.rows})`);
        }
      });
    }
    say(`checked ${indexes} indexes and ${m.tables.length} tables of backup ${m.id}`);
  } catch (e) {
    repo.recordVerify(false, m.id, (e as Error).message);
    throw e;
  } finally {
    await server?.destroy().catch(() => undefined);
    rmSync(scratchParent, { recursive: true, force: true });
  }
  const warnings = m.tableStatsSkipped
    ? [`backup ${m.id} has no row counts (${m.tableStatsSkipped.split('. ')[0]}); only startup and indexes were checked`]
    : [];
  const report: BackupVerifyReport = {
    ok: problems.length === 0,
    backupId: m.id,
    restoreSeconds: (Date.now() - started) / 1000,
    indexesChecked: indexes,
    tablesChecked: m.tables.length,
    problems,
    warnings,
  };
  repo.recordVerify(report.ok, m.id, report.ok ? undefined : problems.join('; '));
  return report;
}
