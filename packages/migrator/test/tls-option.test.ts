import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { describe, expect, it } from 'vitest';
import { defineMigrationSet, MigratorError, SchemaMigrator } from '../src/index.js';

const db = useTestDatabase({ scope: 'test' });
const set = defineMigrationSet({ schema: 'tls_opt', migrations: [{ id: 'V001_T', up: 'create table tls_opt.t (id int)' }] });

// The test server speaks plain TCP: `sslmode=require` in the URL fails unless the `ssl` option replaces it.
describe('the ssl option', () => {
  it('replaces the connection string sslmode for the session', async () => {
    const url = `${db.connectionString}${db.connectionString.includes('?') ? '&' : '?'}sslmode=require`;
    const byUrl = await new SchemaMigrator({ connectionString: url, ...set }).status().catch((e: unknown) => e);
    expect(byUrl).toBeInstanceOf(MigratorError);
    expect((byUrl as MigratorError).code).toBe('CONNECTION_FAILED');
    const migrator = new SchemaMigrator({ connectionString: url, ...set, ssl: false });
    await migrator.up();
    expect((await migrator.status()).counts.applied).toBe(1);
  });
});
