import { resolveMigrations, type MigrationSet } from '@stellaops/migrator';
import { describe, expect, it } from 'vitest';
import { checksumsWithAlteredHelpers } from './helper-drift.js';
import { checkMigrationPins } from './migration-pins.js';

/** What {@link migrationPinSuite} needs to know about a module. */
export interface MigrationPinSuiteOptions {
  /** Imports the module (its entry exports `migrations`), e.g. `() => import('../src/index.js')`. Called more than once. */
  load: () => Promise<{ migrations: MigrationSet }>;
  /** The module's committed pin file, e.g. `new URL('../migrations.lock.json', import.meta.url)`. */
  lockFile: URL;
}

/**
 * Registers the tests that keep a module's migrations frozen: every
 * migration's checksum equals its pin in the committed lock file (a changed
 * migration fails with a message to write a new migration instead; new ones
 * are pinned with `UPDATE_MIGRATION_PINS=1`, which never rewrites a pin), and
 * altering postgres-core's SQL helpers in memory changes no checksum.
 *
 * @example
 * ```ts
 * migrationPinSuite({ load: () => import('../src/index.js'), lockFile: new URL('../migrations.lock.json', import.meta.url) });
 * ```
 */
export function migrationPinSuite(o: MigrationPinSuiteOptions): void {
  describe('frozen migrations', () => {
    it('every migration matches its pinned checksum', async () => {
      const { migrations } = await o.load();
      const { problems } = checkMigrationPins({
        schema: migrations.schema,
        resolved: await resolveMigrations(migrations.migrations),
        lockFile: o.lockFile,
      });
      expect(problems, problems.join('\n')).toEqual([]);
    });

    it('editing the SQL helpers changes no migration', async () => {
      const { migrations } = await o.load();
      const before = new Map((await resolveMigrations(migrations.migrations)).map((m) => [m.id, m.checksum]));
      const after = await checksumsWithAlteredHelpers(o.load);
      const changed = [...before].filter(([id, sum]) => after.get(id) !== sum).map(([id]) => id);
      expect(changed, `built from helpers at run time, so a helper edit changes them: ${changed.join(', ')}`).toEqual([]);
      expect([...after.keys()]).toEqual([...before.keys()]);
    });
  });
}
