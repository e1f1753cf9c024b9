import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPgBouncer, serverRunAs, startPgBouncer, type PgBouncerHandle } from '@stellaops/embedded-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { PoolerDetectedError, SchemaMigrator } from '../src/index.js';
import { generateMigrations } from './helpers/generate.js';
import { skipUnlessInstalled } from '@stellaops/vitest-config';

const PGBOUNCER = findPgBouncer();
// needs Debian's pgbouncer (scripts/bootstrap.sh installs it): skipped without it here, a failure in CI
const skip = skipUnlessInstalled(PGBOUNCER ? [] : ['pgbouncer'], "the migrator's PgBouncer tests");

// Skipped only when a Debian package this suite drives is missing (`skip` above names it; scripts/bootstrap.sh
// installs it): skipUnlessInstalled warns on a developer machine and throws under CI, so CI never skips it.
describe.skipIf(skip)('through PgBouncer transaction pooling', () => {
  const db = useTestDatabase({ scope: 'file' });
  let bouncer: PgBouncerHandle | undefined;
  let dir = '';
  let pooledUrl = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'migrator-pgbouncer-'));
    const target = new URL(db.connectionString);
    const password = decodeURIComponent(target.password);
    bouncer = await startPgBouncer({
      binary: PGBOUNCER!,
      dir,
      runAs: serverRunAs(),
      databases: {
        '*': `host=${target.hostname} port=${target.port || 5432} user=${decodeURIComponent(target.username)}${password ? ` password=${password}` : ''}`,
      },
    });
    pooledUrl = `postgres://${target.username}${target.password ? `:${target.password}` : ''}@127.0.0.1:${bouncer.port}/${db.database}`;
  });

  afterAll(async () => {
    await bouncer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to migrate through the pooler, leaves no lock and changes nothing; status still reads', async () => {
    const migrations = generateMigrations('pooled', 5);
    const viaPooler = new SchemaMigrator({ connectionString: pooledUrl, schema: 'pooled', migrations, lockWaitMs: 2_000 });
    for (let i = 0; i < 4; i++) await expect(viaPooler.up()).rejects.toThrow(PoolerDetectedError);
    const locks = await db.pool.query(
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    );
    expect(locks.rows[0].n).toBe(0);
    expect((await db.pool.query("select count(*)::int as n from pg_namespace where nspname = 'pooled'")).rows[0].n).toBe(0);
    const status = await viaPooler.status();
    expect(status.counts.pending).toBe(5);
    // The direct connection migrates at once: nothing was left locked behind the pooler.
    const direct = await new SchemaMigrator({
      connectionString: db.connectionString,
      schema: 'pooled',
      migrations,
      lockWaitMs: 2_000,
    }).up();
    expect(direct.results).toHaveLength(5);
    expect(direct.lockWaitMs).toBeLessThan(2_000);
    expect((await viaPooler.verify()).ok).toBe(true);
  });
});
