import { tenantIsolationSql } from '@stellaops/postgres-core';
import type { LintMigration, LintRuleId } from '../src/lint-rules/index.js';

/**
 * One fixture per rule: migrations that violate it (the rule must find them) and
 * migrations that follow it (no unwaived finding of any rule). Schema `app`.
 */
export interface LintCase {
  bad: LintMigration[];
  good: LintMigration[];
}

/** postgres-core's standard isolation of app.items as a migration pastes it: row tag, triggers, ENABLE + FORCE, the tag policy. */
export const ISOLATION = tenantIsolationSql({ schema: 'app', table: 'items' }).map((statement) => `${statement};`);

/** The previous standard policy: reads and writes through current_tenant() (secure, a PL/pgSQL HMAC check per statement). */
export const VERIFIED_POLICY =
  'create policy items_tenant_isolation on app.items as permissive for all using (tenant_id = (select stellaops_security.current_tenant())) with check (tenant_id = (select stellaops_security.current_tenant()));';

/** A policy on app.tenant_id alone, which SQL can set without a proof. */
export const SETTING_POLICY =
  "create policy items_tenant_isolation on app.items as permissive for all using (tenant_id = nullif(current_setting('app.tenant_id', true), '')) with check (tenant_id = nullif(current_setting('app.tenant_id', true), ''));";

/** ENABLE + FORCE and one policy statement, without the row tag's column and triggers. */
export const policyOnly = (policy: string): string =>
  ['alter table app.items enable row level security;', 'alter table app.items force row level security;', policy].join('\n');

/** A tenant table that follows every rule, with `columns` added (`isolation` replaces the standard statements). */
function items(columns = 'payload jsonb', opts: { pk?: string; force?: boolean; isolation?: string } = {}): string {
  const isolation = ISOLATION.filter((st) => opts.force !== false || !/^alter table \S+ force row level security;$/.test(st));
  return [
    `create table app.items (tenant_id text not null, id uuid not null, ${columns}, created_at timestamptz not null default now(), primary key (${opts.pk ?? 'tenant_id, id'}));`,
    opts.isolation ?? isolation.join('\n'),
  ].join('\n');
}

const v1 = (sql: string, extra: Partial<LintMigration> = {}): LintMigration => ({ id: 'V001_Items', sql, transaction: true, ...extra });
const v2 = (sql: string, extra: Partial<LintMigration> = {}): LintMigration => ({ id: 'V002_Change', sql, transaction: true, ...extra });
const base = v1(items());

/** Every rule's fixtures, keyed by rule id. */
export const LINT_CASES: Record<LintRuleId, LintCase> = {
  'naming-snake-case': {
    bad: [base, v2('alter table app.items add column "displayName" text')],
    good: [base, v2('alter table app.items add column display_name text')],
  },
  'naming-index': {
    bad: [v1(`${items()}\ncreate index items_by_created on app.items (tenant_id, created_at);`)],
    good: [v1(`${items()}\ncreate index items_tenant_created_idx on app.items (tenant_id, created_at);`)],
  },
  'schema-qualified': {
    bad: [v1('create table other.counters (id bigint generated always as identity primary key)')],
    good: [v1('create table app.counters (id bigint generated always as identity primary key)')],
  },
  'tenant-pk-leading': { bad: [v1(items('payload jsonb', { pk: 'id, tenant_id' }))], good: [base] },
  'tenant-index-leading': {
    bad: [
      v1(`${items()}\ncreate index items_created_idx on app.items (created_at);`),
      // UNIQUE constraints too: ON CONFLICT … WHERE on a key without the tenant first runs on another tenant's row
      v1(items('email text not null unique')),
      v1(items('email text not null, unique (email)')),
    ],
    good: [
      v1(`${items()}\ncreate index items_tenant_created_idx on app.items (tenant_id, created_at);`),
      v1(items('email text not null, unique (tenant_id, email)')),
    ],
  },
  'rls-enable-force': { bad: [v1(items('payload jsonb', { force: false }))], good: [base] },
  'rls-policy': {
    bad: [v1(items('payload jsonb', { isolation: policyOnly('') }))],
    good: [base],
  },
  'rls-policy-verified-tenant': { bad: [v1(items('payload jsonb', { isolation: policyOnly(SETTING_POLICY) }))], good: [base] },
  'rls-policy-tenant-tag': {
    bad: [v1(items('payload jsonb', { isolation: policyOnly(VERIFIED_POLICY) }))],
    // the way out for a table that has rows: a new migration with tenantIsolationSql's output
    good: [v1(items('payload jsonb', { isolation: policyOnly(VERIFIED_POLICY) })), v2(ISOLATION.join('\n'))],
  },
  'tenant-tag-column': {
    bad: [
      v1(
        `${items('payload jsonb', { isolation: policyOnly(VERIFIED_POLICY) })}\nalter table app.items add column tenant_tag bytea;\n${ISOLATION.at(-2)}\n${ISOLATION.at(-1)}`,
      ),
    ],
    good: [base],
  },
  'app-role-privileges': {
    bad: [base, v2('grant select, truncate on all tables in schema app to stellaops_app')],
    good: [base, v2('grant select, insert, update, delete on all tables in schema app to stellaops_app')],
  },
  'index-concurrently': {
    bad: [base, v2('create index items_tenant_created_idx on app.items (tenant_id, created_at)')],
    good: [
      base,
      v2('create index concurrently items_tenant_created_idx on app.items (tenant_id, created_at)', {
        transaction: false,
        lockTimeoutMs: 0,
      }),
    ],
  },
  'concurrently-in-transaction': {
    bad: [base, v2('create index concurrently items_tenant_created_idx on app.items (tenant_id, created_at)')],
    good: [base, v2('create index concurrently items_tenant_created_idx on app.items (tenant_id, created_at)', { transaction: false })],
  },
  'add-column-not-null': {
    bad: [base, v2('alter table app.items add column status text not null')],
    good: [base, v2("alter table app.items add column status text not null default 'new'")],
  },
  'add-column-volatile-default': {
    bad: [base, v2('alter table app.items add column ref uuid default gen_random_uuid()')],
    good: [base, v2('alter table app.items add column ref uuid')],
  },
  'set-not-null': {
    bad: [base, v2('alter table app.items alter column payload set not null')],
    good: [base, v2('alter table app.items add constraint items_payload_not_null_check check (payload is not null) not valid')],
  },
  'alter-column-type': {
    bad: [base, v2('alter table app.items alter column payload type text')],
    good: [base, v2('alter table app.items add column payload_text text')],
  },
  'constraint-not-valid': {
    bad: [base, v2('alter table app.items add constraint items_payload_check check (payload is not null)')],
    good: [base, v2('alter table app.items add constraint items_payload_check check (payload is not null) not valid')],
  },
  'unique-using-index': {
    bad: [base, v2('alter table app.items add constraint items_tenant_payload_key unique (tenant_id, payload)')],
    good: [base, v2('alter table app.items add constraint items_tenant_payload_key unique using index items_tenant_payload_key')],
  },
  'drop-object': {
    bad: [base, v2('drop table app.items')],
    good: [
      base,
      v2(
        '-- stella:allow drop-object no release reads app.items since 2026.10; its rows were exported to the archive bucket\ndrop table app.items',
      ),
    ],
  },
  'rename-object': {
    bad: [base, v2('alter table app.items rename column payload to body')],
    good: [base, v2('alter table app.items add column body jsonb')],
  },
  timestamptz: { bad: [v1(items('due_at timestamp'))], good: [v1(items('due_at timestamptz'))] },
  'prefer-jsonb': { bad: [v1(items('payload json'))], good: [base] },
  'prefer-identity': {
    bad: [v1('create table app.counters (id bigserial primary key)')],
    good: [v1('create table app.counters (id bigint generated always as identity primary key)')],
  },
  'prefer-text': {
    bad: [base, v2('alter table app.items add column title varchar(100)')],
    good: [base, v2('alter table app.items add column title text check (length(title) <= 100)')],
  },
  'lock-timeout': {
    bad: [base, v2('set lock_timeout = 0;\nalter table app.items add column note text')],
    good: [base, v2('alter table app.items add column note text', { lockTimeoutMs: 10_000 })],
  },
  'waiver-reason': {
    bad: [base, v2('-- stella:allow drop-object\ndrop table app.items')],
    good: [base, v2('-- stella:allow drop-object replaced by app.items_v2 in V001; nothing reads it since 2026.10\ndrop table app.items')],
  },
  'waiver-unused': {
    bad: [base, v2('-- stella:allow drop-object the column is unused\nalter table app.items add column note text')],
    good: [base, v2('alter table app.items add column note text')],
  },
  'capture-partial': {
    bad: [base, v2('alter table app.items add column note text', { partial: 'the dry run threw: relation does not exist' })],
    good: [base, v2('alter table app.items add column note text')],
  },
};
