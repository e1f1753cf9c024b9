import { describe, expect, it } from 'vitest';
import { LINT_RULES, applyWaivers, lintMigrations, type LintRuleId } from '../src/lint-rules/index.js';
import { SESSION_TAG_SQL, tenantIsolationSql, tenantTagRotationSql } from '@stellaops/postgres-core';
import { ISOLATION, LINT_CASES, SETTING_POLICY, VERIFIED_POLICY, policyOnly } from './lint-cases.js';

const lint = (migrations: Parameters<typeof lintMigrations>[0]['migrations']) => lintMigrations({ schema: 'app', migrations });

describe('stella-db lint rules', () => {
  it('every rule has a violating and a following fixture', () => {
    expect(Object.keys(LINT_CASES).sort()).toEqual(Object.keys(LINT_RULES).sort());
  });

  it.each(Object.keys(LINT_CASES) as LintRuleId[])('%s: the violating fixture is found, the following one is clean', (rule) => {
    const c = LINT_CASES[rule];
    const bad = lint(c.bad).filter((f) => f.rule === rule && f.waived === undefined);
    expect(bad.length, `${rule} not found in its violating fixture`).toBeGreaterThan(0);
    for (const f of bad) {
      expect(f.severity).toBe(LINT_RULES[rule].severity);
      expect(f.object).not.toBe('');
      expect(f.message).toMatch(/:/);
    }
    expect(lint(c.good).filter((f) => f.waived === undefined)).toEqual([]);
  });

  it('a finding names the migration, line, object and fix', () => {
    const [f] = lint([{ id: 'V001_Items', sql: '\n\ncreate table app.items (id uuid primary key, body json)', transaction: true }]);
    expect(f).toMatchObject({ rule: 'prefer-jsonb', severity: 'error', migration: 'V001_Items', line: 3, object: 'app.items.body' });
    expect(f?.message).toContain('use jsonb');
  });

  it('an inline waiver with a reason waives the statement after it only', () => {
    const findings = lint([
      { id: 'V001_A', sql: 'create table app.a (id uuid primary key);\ncreate table app.b (id uuid primary key)', transaction: true },
      { id: 'V002_B', sql: '-- stella:allow drop-object a was never released\ndrop table app.a;\ndrop table app.b', transaction: true },
    ]);
    const drops = findings.filter((f) => f.rule === 'drop-object');
    expect(drops.map((f) => [f.object, f.waived])).toEqual([
      ['app.a', 'a was never released'],
      ['app.b', undefined],
    ]);
  });

  it('a waiver without a reason is an error and waives nothing', () => {
    const findings = lint([
      { id: 'V001_A', sql: 'create table app.a (id uuid primary key)', transaction: true },
      { id: 'V002_B', sql: '-- stella:allow drop-object\ndrop table app.a', transaction: true },
    ]);
    expect(findings.filter((f) => f.waived === undefined).map((f) => [f.rule, f.severity])).toEqual([
      ['waiver-reason', 'error'],
      ['drop-object', 'error'],
    ]);
    expect(findings[0]?.message).toContain('-- stella:allow drop-object <why this is intended>');
  });

  it('a waiver naming an unknown rule is an error', () => {
    const findings = lint([
      { id: 'V001_A', sql: '-- stella:allow no-such-rule because\ncreate table app.a (id uuid primary key)', transaction: true },
    ]);
    expect(findings.map((f) => [f.rule, f.object])).toEqual([['waiver-reason', 'no-such-rule']]);
  });

  it('file waivers (for frozen migrations) need a known rule and a reason, and must match a finding', () => {
    const findings = lint([{ id: 'V001_A', sql: 'create table app.a (id uuid primary key, body json)', transaction: true }]);
    const waived = applyWaivers(findings, [
      { migration: 'V001_A', rule: 'prefer-jsonb', object: 'app.a.body', reason: 'kept byte-for-byte as the client sent it' },
    ]);
    expect(waived.filter((f) => f.waived === undefined)).toEqual([]);
    const noReason = applyWaivers(findings, [{ migration: 'V001_A', rule: 'prefer-jsonb', reason: ' ' }]);
    expect(
      noReason
        .filter((f) => f.waived === undefined)
        .map((f) => f.rule)
        .sort(),
    ).toEqual(['prefer-jsonb', 'waiver-reason']);
    const stale = applyWaivers([], [{ migration: 'V001_A', rule: 'prefer-jsonb', reason: 'old' }]);
    expect(stale.map((f) => [f.rule, f.severity])).toEqual([['waiver-unused', 'warning']]);
  });

  it('an index on a table created in the same migration needs no CONCURRENTLY; a DO block body is not linted', () => {
    const findings = lint([
      {
        id: 'V001_Items',
        sql: `do $$ begin create table app."Bad" (x json); end $$;\ncreate table app.a (tenant_id text not null, id uuid not null, primary key (tenant_id, id));\ncreate index a_tenant_id_idx on app.a (tenant_id, id);\n${tenantIsolationSql({ schema: 'app', table: 'a' }).join(';\n')}`,
        transaction: true,
      },
    ]);
    expect(findings).toEqual([]);
  });
});

describe('stella-db lint: tenant policies and the row tag', () => {
  const table = 'create table app.items (tenant_id text not null, id uuid not null, primary key (tenant_id, id));';
  const v = (id: string, sql: string, transaction = true) => ({ id, sql, transaction });
  const unwaived = (migrations: Parameters<typeof lint>[0]) =>
    lint(migrations)
      .filter((f) => f.waived === undefined)
      .map((f) => [f.migration, f.rule, f.severity]);

  it("postgres-core's tenantIsolationSql output lints clean on a new table, and on an existing table in a later migration", () => {
    expect(unwaived([v('V001_Items', `${table}\n${ISOLATION.join('\n')}`)])).toEqual([]);
    expect(unwaived([v('V001_Items', `${table}\n${policyOnly(VERIFIED_POLICY)}`), v('V002_Tags', ISOLATION.join('\n'))])).toEqual([]);
    // run again on a table already tagged: its SET NOT NULL is a no-op
    expect(unwaived([v('V001_Items', `${table}\n${ISOLATION.join('\n')}`), v('V002_Again', ISOLATION.join('\n'))])).toEqual([]);
    // a table created outside the linted migrations (e.g. by hand before the module existed)
    expect(unwaived([v('V005_Tags', ISOLATION.join('\n'))])).toEqual([]);
    // a uuid tenant column and a quoted, multi-line paste
    const uuid = tenantIsolationSql({ schema: 'app', table: 'items', columnType: 'uuid' }).join(';\n\n');
    expect(
      unwaived([
        v('V001_Items', `create table app.items (tenant_id uuid not null, id uuid not null, primary key (tenant_id, id));\n${uuid}`),
      ]),
    ).toEqual([]);
  });

  it('the older current_tenant() policy is secure but slow: a warning naming tenantIsolationSql and the policy it writes', () => {
    const findings = lint([v('V001_Items', `${table}\n${policyOnly(VERIFIED_POLICY)}`)]);
    expect(findings.map((f) => [f.rule, f.severity, f.object])).toEqual([['rls-policy-tenant-tag', 'warning', 'app.items']]);
    expect(findings[0]?.message).toContain("tenantIsolationSql({ schema: 'app', table: 'items' })");
    expect(findings[0]?.message).toContain(`tenant_tag = (select ${SESSION_TAG_SQL})`);
    expect(findings[0]?.message).toContain(ISOLATION.at(-1)!.replace(/;$/, ''));
  });

  it('app.tenant_id alone is an error on either side: a tag read does not make a write on the setting safe', () => {
    const setting = lint([v('V001_Items', `${table}\n${policyOnly(SETTING_POLICY)}`)]);
    expect(setting.map((f) => [f.rule, f.severity])).toEqual([['rls-policy-verified-tenant', 'error']]);
    expect(setting[0]?.message).toContain('USING compares tenant_id with app.tenant_id alone');
    expect(setting[0]?.message).toContain('WITH CHECK does not compare with (select stellaops_security.current_tenant())');
    const tagReadSettingWrite = ISOLATION.at(-1)!.replace(
      /with check \(.*\);$/,
      "with check (\"tenant_id\" = nullif(current_setting('app.tenant_id', true), '') and tenant_tag = (select stellaops_security.session_tag()));",
    );
    const isolation = [...ISOLATION.slice(0, -1), tagReadSettingWrite].join('\n');
    const write = lint([v('V001_Items', `${table}\n${isolation}`)]);
    expect(write.map((f) => f.rule)).toEqual(['rls-policy-verified-tenant']);
    expect(write[0]?.message).not.toContain('USING compares');
    // a second, forgeable permissive policy opens the table even next to the standard one
    const second = SETTING_POLICY.replace('items_tenant_isolation', 'items_by_setting');
    expect(lint([v('V001_Items', `${table}\n${ISOLATION.join('\n')}\n${second}`)]).map((f) => f.rule)).toEqual([
      'rls-policy-verified-tenant',
    ]);
  });

  it('a tag policy needs the column, NOT NULL, the session_tag() default and both triggers; the finding lists what is missing', () => {
    const bare = lint([
      v('V001_Items', `${table}\nalter table app.items add column tenant_tag bytea;\n${policyOnly(ISOLATION.at(-1)!)}`),
    ]).filter((f) => f.rule === 'tenant-tag-column');
    expect(bare.map((f) => [f.severity, f.object])).toEqual([['error', 'app.items']]);
    for (const part of [
      'NOT NULL on tenant_tag',
      'DEFAULT stellaops_security.session_tag()',
      'the fill trigger',
      'the retag trigger',
      'the rotation trigger (items_tenant_tag_rotate',
    ])
      expect(bare[0]?.message).toContain(part);
    expect(bare[0]?.message).not.toContain('the tenant_tag bytea column');
    // more than the rotation trigger missing: the whole of tenantIsolationSql is the fix, both reasons are given
    expect(bare[0]?.message).toContain("tenantIsolationSql({ schema: 'app', table: 'items' })");
    expect(bare[0]?.message).toContain('would fail or vanish');
    expect(bare[0]?.message).toContain('during a tenant-key rotation');
    // dropping or disabling a trigger later is found too, and only that trigger is named
    const dropped = lint([
      v('V001_Items', `${table}\n${ISOLATION.join('\n')}`),
      v('V002_Oops', 'drop trigger items_tenant_tag_retag on app.items'),
    ]).filter((f) => f.rule === 'tenant-tag-column');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.message).toContain('lacks the retag trigger');
    expect(dropped[0]?.message).not.toContain('fill trigger');
    expect(dropped[0]?.message).not.toContain('the rotation trigger (');
    expect(dropped[0]?.message).not.toContain('tenant-key rotation');
    const disabled = lint([
      v('V001_Items', `${table}\n${ISOLATION.join('\n')}`),
      v('V002_Oops', 'alter table app.items disable trigger items_tenant_tag_fill'),
    ]).filter((f) => f.rule === 'tenant-tag-column');
    expect(disabled[0]?.message).toContain('lacks the fill trigger');
    // a fill trigger calling another function, or after insert, does not count
    const wrong = ISOLATION.map((st) => st.replace('before insert', 'after insert'));
    expect(lint([v('V001_Items', `${table}\n${wrong.join('\n')}`)]).map((f) => f.rule)).toEqual(['tenant-tag-column']);
    // the tag column declared in CREATE TABLE with its constraint and default counts as well
    const inline = `create table app.items (tenant_id text not null, id uuid not null, tenant_tag bytea not null default stellaops_security.session_tag(), primary key (tenant_id, id));`;
    expect(unwaived([v('V001_Items', `${inline}\n${ISOLATION.slice(5).join('\n')}`)])).toEqual([]);
  });

  it('a tag policy needs the rotation trigger (BEFORE UPDATE, any column, enabled); alone missing, the fix is tenantTagRotationSql', () => {
    const rotation = tenantTagRotationSql({ schema: 'app', table: 'items' }).map((st) => `${st};`);
    const withoutRotation = ISOLATION.filter((st) => !rotation.includes(st));
    expect(withoutRotation).toHaveLength(ISOLATION.length - 2);
    const rotationFindings = (migrations: Parameters<typeof lint>[0]) =>
      lint(migrations)
        .filter((f) => f.waived === undefined)
        .map((f) => [f.migration, f.rule, f.severity, f.object]);
    // a table made tenant-isolated before the trigger existed: an error at its CREATE TABLE naming the trigger and the fix
    const missing = lint([v('V001_Items', `${table}\n${withoutRotation.join('\n')}`)]);
    expect(missing.map((f) => [f.migration, f.rule, f.severity, f.object])).toEqual([
      ['V001_Items', 'tenant-tag-column', 'error', 'app.items'],
    ]);
    const message = missing[0]!.message;
    expect(message).toContain(
      "lacks the rotation trigger (items_tenant_tag_rotate: BEFORE UPDATE … FOR EACH ROW WHEN (new.tenant_tag = <the session's previous-key tag>) EXECUTE FUNCTION stellaops_security.rotate_tenant_tag())",
    );
    expect(message).toContain("during a tenant-key rotation every UPDATE of a row still carrying the old key's tag would fail");
    expect(message).toContain("tenantTagRotationSql({ schema: 'app', table: 'items' }) as literal SQL");
    expect(message).toContain(rotation[1]!.replace(/;$/, ''));
    expect(message).not.toContain('tenantIsolationSql');
    expect(message).not.toMatch(/fill trigger|retag trigger|NOT NULL|fail or vanish/);
    // the way out: a new migration with tenantTagRotationSql's output
    expect(rotationFindings([v('V001_Items', `${table}\n${withoutRotation.join('\n')}`), v('V002_Rotate', rotation.join('\n'))])).toEqual(
      [],
    );
    // dropped, or disabled (by name or as all user triggers), in a later migration
    const full = v('V001_Items', `${table}\n${ISOLATION.join('\n')}`);
    for (const oops of [
      'drop trigger if exists items_tenant_tag_rotate on app.items',
      'alter table app.items disable trigger items_tenant_tag_rotate',
      'alter table app.items disable trigger user',
    ]) {
      const found = lint([full, v('V002_Oops', oops)]).filter((f) => f.rule === 'tenant-tag-column');
      expect(
        found.map((f) => [f.migration, f.severity]),
        oops,
      ).toEqual([['V001_Items', 'error']]);
      expect(found[0]?.message, oops).toContain('the rotation trigger (items_tenant_tag_rotate');
    }
    // enabled again in a later migration: clean
    expect(
      rotationFindings([
        full,
        v('V002_Oops', 'alter table app.items disable trigger items_tenant_tag_rotate'),
        v('V003_Fix', 'alter table app.items enable trigger items_tenant_tag_rotate'),
      ]),
    ).toEqual([]);
    // an AFTER trigger, one on an UPDATE OF list (a rotation updates any column), per statement, or another function does not count
    for (const [from, to] of [
      ['before update on', 'after update on'],
      ['before update on', 'before update of tenant_id on'],
      ['for each row', 'for each statement'],
      ['rotate_tenant_tag()', 'fill_tenant_tag()'],
      // without its WHEN it would set the (NULL) session tag on an owner's update too
      [/ when \(new\.tenant_tag = .*\) execute/, ' execute'],
      // a WHEN on the current tag is not the rotation's
      ["'app.tenant_proof_previous'", "'app.tenant_proof'"],
    ] as const) {
      const wrong = ISOLATION.map((st) => (rotation.includes(st) && st.startsWith('create trigger') ? st.replace(from, to) : st));
      expect(wrong.join('\n'), to).not.toEqual(ISOLATION.join('\n'));
      const found = lint([v('V001_Items', `${table}\n${wrong.join('\n')}`)]);
      expect(
        found.map((f) => f.rule),
        to,
      ).toEqual(['tenant-tag-column']);
      expect(found[0]?.message, to).toContain('the rotation trigger');
    }
    // a trigger on INSERT OR UPDATE runs it on every update too
    const both = ISOLATION.map((st) =>
      st.replace('items_tenant_tag_rotate" before update on', 'items_tenant_tag_rotate" before insert or update on'),
    );
    expect(both.join('\n')).toContain('before insert or update on');
    expect(rotationFindings([v('V001_Items', `${table}\n${both.join('\n')}`)])).toEqual([]);
  });

  it('FORCE may be lifted only inside one transactional migration that forces again; SET NOT NULL on tenant_tag only where it was added', () => {
    const lifted = lint([
      v('V001_Items', `${table}\n${ISOLATION.join('\n')}`),
      v('V002_Lift', 'alter table app.items no force row level security'),
    ]).filter((f) => f.rule === 'rls-enable-force');
    expect(lifted.map((f) => [f.migration, f.line])).toEqual([
      ['V002_Lift', 1],
      ['V001_Items', 1],
    ]);
    const noTransaction = lint([
      v('V001_Items', `${table}\n${ISOLATION.join('\n')}`),
      v('V002_Lift', 'alter table app.items no force row level security;\nalter table app.items force row level security', false),
    ]).filter((f) => f.rule === 'rls-enable-force');
    expect(noTransaction.map((f) => f.migration)).toEqual(['V002_Lift']);
    const later = lint([
      v('V001_Items', `${table}\n${policyOnly(VERIFIED_POLICY)}\nalter table app.items add column tenant_tag bytea;`),
      v('V002_NotNull', 'alter table app.items alter column tenant_tag set not null'),
    ]);
    expect(later.filter((f) => f.rule === 'set-not-null').map((f) => f.object)).toEqual(['app.items.tenant_tag']);
  });
});
