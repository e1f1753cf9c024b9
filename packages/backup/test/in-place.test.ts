import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupUsageError, restoreBackup, takeBackup } from '../src/index.js';
import { startArchivingCluster, type ArchivingCluster } from './helpers.js';

let c: ArchivingCluster;

beforeAll(async () => {
  c = await startArchivingCluster();
  const db = await c.client();
  await db.query('create table t (id int primary key); insert into t select generate_series(1, 100)');
  await db.end();
});

afterAll(async () => {
  await c?.destroy();
});

async function count(): Promise<number> {
  const db = await c.client();
  const n = Number((await db.query<{ n: string }>('select count(*)::text as n from t')).rows[0]!.n);
  await db.end();
  return n;
}

describe('in-place restore', () => {
  it('needs confirmation, refuses a running cluster, then restores the stopped cluster keeping the old folder aside', async () => {
    await takeBackup({ source: c.source, repository: c.repo });
    const db = await c.client();
    await db.query('insert into t select generate_series(101, 150)');
    const target = (await db.query<{ t: Date }>('select clock_timestamp() as t')).rows[0]!.t;
    await new Promise((r) => setTimeout(r, 20));
    await db.query('delete from t where id > 10'); // the accident
    await db.end();
    await c.switchAndWait();
    expect(await count()).toBe(10);

    const base = {
      repository: c.repo,
      archiveDir: c.archiveDir,
      target: target.toISOString(),
      into: c.source.dataDir,
      binaries: c.binaries,
      runAs: c.runAs,
    };
    await expect(restoreBackup({ ...base, inPlace: { confirm: false } })).rejects.toThrow(/confirm it \(--in-place --yes\)/);
    const running = await restoreBackup({ ...base, inPlace: { confirm: true } }).catch((e: unknown) => e);
    expect(running).toBeInstanceOf(BackupUsageError);
    expect((running as Error).message).toMatch(/is running \(postmaster pid \d+\)/);
    expect(await count()).toBe(10); // untouched

    await c.cluster.stop();
    const r = await restoreBackup({ ...base, inPlace: { confirm: true } });
    expect(r.running).toBe(false);
    const aside = readdirSync(dirname(c.source.dataDir)).filter((n) => n.startsWith('data.before-restore-'));
    expect(aside).toHaveLength(1);
    expect(existsSync(`${dirname(c.source.dataDir)}/${aside[0]}/PG_VERSION`)).toBe(true);

    await c.cluster.start(c.port); // the cluster replays to the target and promotes
    for (let i = 0; i < 600; i++) {
      const s = await c.client().catch(() => undefined);
      if (s) {
        const rec = (await s.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]!.r;
        await s.end();
        if (!rec) break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(await count()).toBe(150);
  });
});
