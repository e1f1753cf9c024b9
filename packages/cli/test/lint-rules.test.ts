import { describe, expect, it } from 'vitest';
import { LINT_RULES, applyWaivers, lintMigrations, type LintRuleId } from '../src/lint-rules/index.js';
import { LINT_CASES } from './lint-cases.js';

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
        sql: 'do $$ begin create table app."Bad" (x json); end $$;\ncreate table app.a (tenant_id text not null, id uuid not null, primary key (tenant_id, id));\ncreate index a_tenant_id_idx on app.a (tenant_id, id);\nalter table app.a enable row level security;\nalter table app.a force row level security;\ncreate policy a_tenant_isolation on app.a as permissive for all using (tenant_id = (select stellaops_security.current_tenant())) with check (tenant_id = (select stellaops_security.current_tenant()))',
        transaction: true,
      },
    ]);
    expect(findings).toEqual([]);
  });
});
