import { resolveMigrations } from '@stellaops/migrator';
import { SECURITY_SCHEMA, securityMigrations } from '@stellaops/postgres-core';
import { describe, expect, it } from 'vitest';
import { checkMigrationPins } from '../src/index.js';

// postgres-core's security migrations are applied to every database before any module's, so they are as frozen as a
// module's: their checksums are pinned here (postgres-core cannot depend on this package, which depends on it).
describe('frozen security migrations', () => {
  it("every one of postgres-core's security migrations matches its pinned checksum", async () => {
    const { problems } = checkMigrationPins({
      schema: SECURITY_SCHEMA,
      resolved: await resolveMigrations(securityMigrations),
      lockFile: new URL('../security-migrations.lock.json', import.meta.url),
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
