import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveMigrations, type Migration } from '@stellaops/migrator';
import { SESSION_TAG_SQL } from '@stellaops/postgres-core';
import { afterEach, describe, expect, it } from 'vitest';
import { checkMigrationPins, checksumsWithAlteredHelpers } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function lockFile(): URL {
  const d = mkdtempSync(join(tmpdir(), 'kit-pins-'));
  dirs.push(d);
  return pathToFileURL(join(d, 'migrations.lock.json'));
}
const v1: Migration = { id: 'V001_A', up: 'create table kit.a (id int)' };
const v2: Migration = { id: 'V002_B', up: 'create table kit.b (id int)' };
const check = async (lock: URL, ms: Migration[], update = false) =>
  checkMigrationPins({ schema: 'kit', resolved: await resolveMigrations(ms), lockFile: lock, update });

describe('checkMigrationPins', () => {
  it('refuses an unpinned migration unless asked to pin, and then pins only new ones', async () => {
    const lock = lockFile();
    expect((await check(lock, [v1])).problems).toEqual([expect.stringMatching(/V001_A \(kit\) has no pin .*UPDATE_MIGRATION_PINS=1/)]);
    expect(await check(lock, [v1], true)).toEqual({ problems: [], added: ['V001_A'] });
    const pinned = JSON.parse(readFileSync(lock, 'utf8')) as { migrations: Record<string, string> };
    expect(Object.keys(pinned.migrations)).toEqual(['V001_A']);
    expect(await check(lock, [v1, v2], true)).toEqual({ problems: [], added: ['V002_B'] });
    expect(await check(lock, [v1, v2])).toEqual({ problems: [], added: [] });
  });

  it('fails a changed migration with the advice to write a new one, and never rewrites its pin', async () => {
    const lock = lockFile();
    await check(lock, [v1], true);
    const before = readFileSync(lock, 'utf8');
    const edited = { ...v1, up: 'create table kit.a (id bigint)' };
    for (const update of [false, true]) {
      const { problems } = await check(lock, [edited], update);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /migration V001_A \(kit\) changed: pinned checksum [0-9a-f]{64}, now [0-9a-f]{64}\..*write a new migration for the change instead/,
      );
    }
    expect(readFileSync(lock, 'utf8')).toBe(before);
  });

  it('ignores what does not change meaning (line endings, trailing blanks) and reports a removed migration', async () => {
    const lock = lockFile();
    await check(lock, [v1, v2], true);
    expect((await check(lock, [{ ...v1, up: `${v1.up as string}  \r\n\r\n` }, v2])).problems).toEqual([]);
    expect((await check(lock, [v2])).problems).toEqual([expect.stringMatching(/V001_A \(kit\) is pinned but no longer exists/)]);
  });

  it('says which file is not a pin file', async () => {
    const lock = lockFile();
    writeFileSync(lock, '{"schema":"kit"}');
    await expect(check(lock, [v1])).rejects.toThrow(/is not a migration pin file/);
  });
});

describe('checksumsWithAlteredHelpers', () => {
  it('changes the checksum of a migration built from a helper and keeps a literal one', async () => {
    const load = () => import('./fixtures/helper-built.js');
    const { migrations } = await load();
    const before = new Map((await resolveMigrations(migrations.migrations)).map((m) => [m.id, m.checksum]));
    const after = await checksumsWithAlteredHelpers(load);
    expect(after.get('V001_Frozen')).toBe(before.get('V001_Frozen'));
    expect(after.get('V002_HelperBuilt')).toMatch(/^[0-9a-f]{64}$/);
    expect(after.get('V002_HelperBuilt')).not.toBe(before.get('V002_HelperBuilt'));
    // the helpers are real again afterwards
    const again = new Map((await resolveMigrations((await load()).migrations.migrations)).map((m) => [m.id, m.checksum]));
    expect(again).toEqual(before);
  });

  it("rewrites tenantIsolationSql's tagged policy into equivalent text (not only the mark)", async () => {
    let altered = '';
    await checksumsWithAlteredHelpers(async () => {
      const m = await import('./fixtures/helper-built.js');
      const up = (m.migrations.migrations as ReadonlyArray<{ id: string; up: unknown }>).find((x) => x.id === 'V002_HelperBuilt')?.up;
      altered = typeof up === 'string' ? up : '';
      return m;
    });
    const policy = altered.split(';\n').find((s) => s.startsWith('create policy'));
    expect(policy).toContain(` as permissive for all to public using (`);
    expect(policy).toContain(`tenant_tag = (select ${SESSION_TAG_SQL})`);
    expect(policy).toMatch(/with check \(.*stellaops_security\.current_tenant\(\).*\) -- altered by module-testkit$/);
  });
});
