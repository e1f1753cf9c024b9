import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { LockTimeoutError, MigrationFailedError, migrateOnStart, type Migration, type MigratorLogger } from '../src/index.js';

const migrations: Migration[] = [
  { id: 'V001_CreateNotes', up: 'create table notes.notes (id int primary key, body text)' },
  { id: 'V002_Seed', up: "insert into notes.notes values (1, 'hello')" },
];

function memoryLogger(): MigratorLogger & { lines: { level: string; msg: string | undefined; obj: object }[] } {
  const lines: { level: string; msg: string | undefined; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('migrateOnStart', () => {
  const db = useTestDatabase({ scope: 'test' });

  it('applies pending migrations and logs plan and outcome', async () => {
    const logger = memoryLogger();
    const report = await migrateOnStart({ connectionString: db.connectionString, schema: 'notes', migrations, logger });
    expect(report.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect(logger.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      'migration plan: 2 to apply',
      'migrations applied: 2',
      'schema notes migrated (2 applied)',
    ]);
    const again = await migrateOnStart({ connectionString: db.connectionString, schema: 'notes', migrations, logger });
    expect(again.results).toEqual([]);
  });

  it('throws a typed error on failure so the service does not start', async () => {
    const logger = memoryLogger();
    const bad = [...migrations, { id: 'V003_Bad', up: 'insert into notes.notes values (1, null)' }];
    const err = await migrateOnStart({ connectionString: db.connectionString, schema: 'notes', migrations: bad, logger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as MigrationFailedError).sqlState).toBe('23505');
    expect(logger.lines.some((l) => l.level === 'error' && l.msg?.includes('refusing to start'))).toBe(true);
  });

  it('waits for the lock within a bound, then throws LockTimeoutError naming the holder', async () => {
    const holder = new pg.Client({ connectionString: db.connectionString, application_name: 'other-replica' });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock(1398031692, hashtext('notes._migrations'))");
      const err = await migrateOnStart({ connectionString: db.connectionString, schema: 'notes', migrations, lockWaitMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect((err as LockTimeoutError).holders.map((h) => h.applicationName)).toEqual(['other-replica']);
      await holder.query("select pg_advisory_unlock(1398031692, hashtext('notes._migrations'))");
      const ok = await migrateOnStart({ connectionString: db.connectionString, schema: 'notes', migrations, lockWaitMs: 300 });
      expect(ok.results).toHaveLength(2);
    } finally {
      await holder.end();
    }
  });
});
