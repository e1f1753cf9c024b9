import { describe, expect, it } from 'vitest';
import { LINT_RULES, applyWaivers, lintMigrations, type LintRuleId } from '../src/lint-rules/index.js';
import { SESSION_TAG_SQL, tenantIsolationSql } from '@stellaops/postgres-core';
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
    for (const part of ['NOT NULL on tenant_tag', 'DEFAULT stellaops_security.session_tag()', 'the fill trigger', 'the retag trigger'])
      expect(bare[0]?.message).toContain(part);
    expect(bare[0]?.message).not.toContain('the tenant_tag bytea column');
    // dropping or disabling a trigger later is found too, and only that trigger is named
    const dropped = lint([
      v('V001_Items', `${table}\n${ISOLATION.join('\n')}`),
      v('V002_Oops', 'drop trigger items_tenant_tag_retag on app.items'),
    ]).filter((f) => f.rule === 'tenant-tag-column');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.message).toContain('lacks the retag trigger');
    expect(dropped[0]?.message).not.toContain('fill trigger');
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
