import { describe, expect, it } from 'vitest';
import {
  ChecksumMismatchError,
  IrreversibleMigrationError,
  MissingMigrationError,
  OutOfOrderError,
  resolveMigrations,
  type ResolvedMigration,
} from '../src/index.js';
import { analyze } from '../src/planning/analyze.js';
import { planDown } from '../src/planning/plan-down.js';
import { planUp } from '../src/planning/plan-up.js';
import type { AppliedMigrationRow } from '../src/sql/select-applied-migrations.js';

const migrations: ResolvedMigration[] = await resolveMigrations([
  { id: 'V1_a', up: 'select 1', down: 'select -1' },
  { id: 'V2_b', up: 'select 2', down: 'select -2' },
  { id: 'V3_c', up: 'select 3' },
  { id: 'V4_d', up: 'select 4', down: 'select -4' },
]);
const row = (m: ResolvedMigration, checksum: string | null = m.checksum): AppliedMigrationRow => ({
  id: m.id,
  timestamp: new Date().toISOString(),
  description: m.description,
  checksum,
  appliedAt: new Date(),
  durationMs: 1,
  appliedBy: 'test',
  inTransaction: true,
});
const [m1, m2, m3, m4] = migrations as [ResolvedMigration, ResolvedMigration, ResolvedMigration, ResolvedMigration];

describe('planUp', () => {
  it('plans pending in order, up to a target', () => {
    const a = analyze(migrations, [row(m1)]);
    expect(planUp(migrations, a).map((m) => m.id)).toEqual(['V2_b', 'V3_c', 'V4_d']);
    expect(planUp(migrations, a, { to: 'V3_c' }).map((m) => m.id)).toEqual(['V2_b', 'V3_c']);
    expect(
      planUp(
        migrations,
        analyze(
          migrations,
          migrations.map((m) => row(m)),
        ),
      ),
    ).toEqual([]);
    expect(() => planUp(migrations, a, { to: 'V9' })).toThrow(/not a known migration/);
  });

  it('stops on drift with both checksums', () => {
    const a = analyze(migrations, [row(m1, 'deadbeef')]);
    expect(a.entries[0]?.state).toBe('drifted');
    try {
      planUp(migrations, a);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ChecksumMismatchError);
      expect((e as ChecksumMismatchError).mismatches).toEqual([{ id: 'V1_a', appliedChecksum: 'deadbeef', currentChecksum: m1.checksum }]);
      expect(String(e)).toContain('V1_a');
    }
  });

  it('refuses out-of-order unless allowed', () => {
    const a = analyze(migrations, [row(m1), row(m3)]);
    expect(a.entries.find((e) => e.id === 'V2_b')?.state).toBe('out-of-order');
    expect(() => planUp(migrations, a)).toThrow(OutOfOrderError);
    expect(planUp(migrations, a, { allowOutOfOrder: true }).map((m) => m.id)).toEqual(['V2_b', 'V4_d']);
  });

  it('refuses missing migrations but tolerates future ones', () => {
    const ghost = (id: string): AppliedMigrationRow => ({ ...row(m1), id });
    expect(() => planUp(migrations, analyze(migrations, [row(m1), ghost('V1_5_gone')]))).toThrow(MissingMigrationError);
    const a = analyze(migrations, [row(m1), ghost('V9_newer')]);
    expect(a.future).toEqual(['V9_newer']);
    expect(planUp(migrations, a).map((m) => m.id)).toEqual(['V2_b', 'V3_c', 'V4_d']);
  });

  it('treats rows without a checksum (plain Kysely) as unverified, not drift', () => {
    const a = analyze(migrations, [row(m1, null)]);
    expect(a.entries[0]?.state).toBe('unverified');
    expect(planUp(migrations, a)).toHaveLength(3);
  });
});

describe('planDown', () => {
  const all = analyze(migrations, [row(m1), row(m2), row(m4)]);
  it('rolls back newest first down to a target, by steps, or all', () => {
    expect(planDown(migrations, all, { to: 'V2_b' }).map((m) => m.id)).toEqual(['V4_d']);
    expect(planDown(migrations, all, { steps: 2 }).map((m) => m.id)).toEqual(['V4_d', 'V2_b']);
    expect(planDown(migrations, all, { all: true }).map((m) => m.id)).toEqual(['V4_d', 'V2_b', 'V1_a']);
  });

  it('refuses a range containing a migration without down', () => {
    const a = analyze(
      migrations,
      migrations.map((m) => row(m)),
    );
    expect(() => planDown(migrations, a, { to: 'V1_a' })).toThrow(IrreversibleMigrationError);
    expect(() => planDown(migrations, a, { to: 'V1_a' })).toThrow(/V3_c has no down/);
    expect(planDown(migrations, a, { to: 'V3_c' }).map((m) => m.id)).toEqual(['V4_d']);
  });

  it('refuses an unknown or pending target', () => {
    expect(() => planDown(migrations, all, { to: 'V3_c' })).toThrow(/not an applied migration \(it is pending\)/);
  });
});
