import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupRepository,
  listBackups,
  METRICS_FILE,
  restoreBackup,
  takeBackup,
  verifyBackup,
  type BackupManifest,
  type BackupProgress,
} from '../src/index.js';
import { restoreDir, startStellaopsCluster, verifyOptions, type ArchivingCluster } from './helpers.js';

let c: ArchivingCluster;

beforeAll(async () => {
  c = await startStellaopsCluster(`
    create schema drill;
    create table drill.events (id int primary key, batch int not null, note text not null, committed_at timestamptz not null default clock_timestamp());
    create table drill.secrets (id serial primary key, tenant_id text not null, body text not null);
    alter table drill.secrets enable row level security;
    alter table drill.secrets force row level security;
    create policy tenant_isolation on drill.secrets using (tenant_id = nullif(current_setting('app.tenant_id', true), ''));
    grant usage on schema drill to stellaops_app;
    grant select, insert on drill.secrets to stellaops_app;
    insert into drill.secrets (tenant_id, body) values ('t1', 'one'), ('t2', 'two');
    create table drill.docs (id int primary key, doc json not null, at point);
    insert into drill.docs select g, json_build_object('g', g), point(g, g) from generate_series(1, 30) g;
  `);
});

afterAll(async () => {
  await c?.destroy();
});

async function insertBatch(batch: number, n: number): Promise<void> {
  const db = await c.client('stellaops');
  for (let i = 0; i < n; i++)
    await db.query('insert into drill.events (id, batch, note) values ($1, $2, $3)', [batch * 1000 + i, batch, `b${batch}-${i}`]);
  await db.end();
}

describe('point-in-time restore drill', () => {
  it('restores exactly the rows committed before the target time, with RLS intact and the app role able to log in', async () => {
    await insertBatch(1, 20);
    const events: BackupProgress[] = [];
    const m = await takeBackup({ source: c.source, repository: c.repo, label: 'drill', onProgress: (p) => events.push(p) });
    expect(m.files.length).toBeGreaterThan(100);
    expect(m.files.some((f) => f.path === 'backup_label')).toBe(true);
    expect(m.files.some((f) => f.path.startsWith('pg_wal/'))).toBe(false);
    expect(m.tables.find((t) => t.table === 'stellaops.drill.events')).toMatchObject({ rows: 20, method: 'record' });
    expect(m.tables.find((t) => t.table === 'stellaops.drill.docs')).toMatchObject({ rows: 30, method: 'text' }); // json, point: no hash function
    expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(['start', 'copy', 'stop', 'stats', 'archive-wait', 'done']));

    await insertBatch(2, 15);
    await new Promise((r) => setTimeout(r, 50));
    const db = await c.client('stellaops');
    const target = (await db.query<{ t: Date }>('select clock_timestamp() as t')).rows[0]!.t;
    await db.end();
    await new Promise((r) => setTimeout(r, 50));
    await insertBatch(3, 10);
    await c.switchAndWait();

    const catalog = listBackups(c.repo, c.archiveDir);
    expect(catalog.backups).toHaveLength(1);
    expect(catalog.backups[0]?.restorable).toBe(true);
    expect(catalog.earliest?.backupId).toBe(m.id);
    expect(Date.parse(catalog.latest!.approxTime)).toBeGreaterThanOrEqual(target.getTime());

    const restored = await restoreBackup({
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: target.toISOString(),
      into: restoreDir(c, 'pitr'),
      binaries: c.binaries,
      runAs: c.runAs,
    });
    try {
      expect(restored.backup.id).toBe(m.id);
      const r = new pg.Client({ ...restored.connection, database: 'stellaops' });
      await r.connect();
      const batches = await r.query<{ batch: number; n: string; late: string }>(
        'select batch, count(*)::text as n, count(*) filter (where committed_at > $1)::text as late from drill.events group by batch order by batch',
        [target],
      );
      expect(batches.rows.map((x) => [x.batch, Number(x.n), Number(x.late)])).toEqual([
        [1, 20, 0],
        [2, 15, 0],
      ]);
      const rls = await r.query<{ relrowsecurity: boolean; relforcerowsecurity: boolean; policies: string }>(
        `select relrowsecurity, relforcerowsecurity, (select count(*)::text from pg_policy where polrelid = 'drill.secrets'::regclass) as policies from pg_class where oid = 'drill.secrets'::regclass`,
      );
      expect(rls.rows[0]).toEqual({ relrowsecurity: true, relforcerowsecurity: true, policies: '1' });
      await r.end();

      // the app role logs in over TCP (scram) and sees only its tenant's rows
      const app = new pg.Client({
        host: '127.0.0.1',
        port: restored.port,
        user: 'stellaops_app',
        password: c.password,
        database: 'stellaops',
      });
      await app.connect();
      expect((await app.query('select * from drill.secrets')).rows).toHaveLength(0);
      await app.query('begin');
      await app.query("select set_config('app.tenant_id', 't1', true)");
      expect((await app.query<{ body: string }>('select body from drill.secrets')).rows.map((x) => x.body)).toEqual(['one']);
      await app.query('commit');
      await app.end();
    } finally {
      await restored.destroy();
    }
    // the running cluster kept all three batches
    const live = await c.client('stellaops');
    expect(Number((await live.query<{ n: string }>('select count(*)::text as n from drill.events')).rows[0]!.n)).toBe(45);
    await live.end();
  });

  it('verify restores the newest backup, runs amcheck and matches every table with the manifest', async () => {
    const report = await verifyBackup(verifyOptions(c));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.indexesChecked).toBeGreaterThanOrEqual(2);
    expect(report.tablesChecked).toBe(3);
  });

  it('verify reports a table whose restored content differs from the manifest', async () => {
    const repo = new BackupRepository(c.repo);
    const m = repo.manifests().at(-1)!;
    const file = join(repo.backupDir(m.id), 'manifest.json');
    const original = readFileSync(file, 'utf8');
    const tampered = JSON.parse(original) as BackupManifest;
    const events = tampered.tables.find((t) => t.table === 'stellaops.drill.events')!;
    events.rows += 1;
    const docs = tampered.tables.find((t) => t.table === 'stellaops.drill.docs')!;
    docs.checksum = '12345';
    writeFileSync(file, JSON.stringify(tampered));
    try {
      const report = await verifyBackup(verifyOptions(c));
      expect(report.ok).toBe(false);
      expect([...report.problems].sort()).toEqual([
        `table stellaops.drill.docs: content checksum differs from the manifest (same row count 30)`,
        `table stellaops.drill.events: 20 rows restored, the manifest recorded 21`,
      ]);
      expect(repo.status().lastVerify?.status).toBe('failure');
      expect(readFileSync(join(c.repo, METRICS_FILE), 'utf8')).toMatch(/^stellaops_backup_verify_failures_total 1$/m);
      // the previous successful drill is still reported
      expect(readFileSync(join(c.repo, METRICS_FILE), 'utf8')).toMatch(
        /^stellaops_backup_verify_last_success_timestamp_seconds [1-9]\d+(\.\d+)?$/m,
      );
    } finally {
      writeFileSync(file, original);
    }
  });
});
