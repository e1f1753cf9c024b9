/** How bad a finding is: errors fail `stella-db lint` (exit 3), warnings are shown only. */
export type LintSeverity = 'error' | 'warning';

/** One rule of docs/RULES.md that `stella-db lint` checks. */
export interface LintRuleInfo {
  /** Rule id, as used in `-- stella:allow <rule> <reason>`. */
  id: string;
  /** Severity of its findings. */
  severity: LintSeverity;
  /** What it checks, in one line. */
  summary: string;
  /** Where it looks: migration SQL, the live schema (`--url`), or both. */
  scope: 'migration' | 'schema' | 'both';
}

const rule = (id: string, severity: LintSeverity, scope: LintRuleInfo['scope'], summary: string): LintRuleInfo => ({
  id,
  severity,
  scope,
  summary,
});

/**
 * Every rule `stella-db lint` knows, by id (docs/RULES.md lists each with its reason).
 *
 * @example
 * LINT_RULES['prefer-jsonb'].severity; // 'error'
 */
export const LINT_RULES = {
  'naming-snake-case': rule(
    'naming-snake-case',
    'error',
    'migration',
    'schema, table, column, index and constraint names are lower snake_case, at most 63 characters',
  ),
  'naming-index': rule(
    'naming-index',
    'error',
    'migration',
    'index names are <table>_…_idx (unique: <table>_…_key); constraint names start with <table>_ (primary keys end in _pkey, foreign keys in _fkey)',
  ),
  'schema-qualified': rule('schema-qualified', 'error', 'migration', "tables are created schema-qualified, in the module's own schema"),
  'tenant-pk-leading': rule('tenant-pk-leading', 'error', 'both', 'a table with tenant_id has a primary key that starts with tenant_id'),
  'tenant-index-leading': rule('tenant-index-leading', 'error', 'both', 'every index of a table with tenant_id starts with tenant_id'),
  'rls-enable-force': rule(
    'rls-enable-force',
    'error',
    'both',
    'a table with tenant_id has ROW LEVEL SECURITY enabled and forced, never disabled',
  ),
  'rls-policy': rule(
    'rls-policy',
    'error',
    'both',
    'a table with tenant_id has the standard tenant policy (permissive, FOR ALL, USING and WITH CHECK on tenant_id)',
  ),
  'rls-policy-verified-tenant': rule(
    'rls-policy-verified-tenant',
    'error',
    'both',
    'the tenant policy reads through the row tag (tenant_tag = (select stellaops_security.session_tag())) or stellaops_security.current_tenant() and writes through current_tenant() (the HMAC-verified tenant), never app.tenant_id alone',
  ),
  'rls-policy-tenant-tag': rule(
    'rls-policy-tenant-tag',
    'warning',
    'both',
    "the tenant policy's USING compares the row tag (tenant_tag = (select stellaops_security.session_tag()), inlined) instead of calling stellaops_security.current_tenant(), a PL/pgSQL HMAC check, per statement",
  ),
  'tenant-tag-column': rule(
    'tenant-tag-column',
    'error',
    'both',
    'a tenant table whose policy compares tenant_tag has tenant_tag bytea NOT NULL DEFAULT stellaops_security.session_tag(), the fill (BEFORE INSERT) and retag (BEFORE UPDATE OF tenant_id) triggers on stellaops_security.fill_tenant_tag() and the rotation trigger (BEFORE UPDATE) on stellaops_security.rotate_tenant_tag()',
  ),
  'app-role-privileges': rule(
    'app-role-privileges',
    'error',
    'both',
    'the app role owns nothing and gets only USAGE, SELECT/INSERT/UPDATE/DELETE and sequence USAGE/SELECT; no CREATE, TRUNCATE, REFERENCES, TRIGGER, ALL, SUPERUSER or BYPASSRLS',
  ),
  'index-concurrently': rule(
    'index-concurrently',
    'error',
    'migration',
    'CREATE/DROP INDEX on a table that exists before the migration uses CONCURRENTLY (in a -- stella:no-transaction migration)',
  ),
  'concurrently-in-transaction': rule(
    'concurrently-in-transaction',
    'error',
    'migration',
    'CONCURRENTLY only in a migration that runs without a transaction',
  ),
  'add-column-not-null': rule(
    'add-column-not-null',
    'error',
    'migration',
    'ADD COLUMN … NOT NULL on an existing table has a non-volatile DEFAULT',
  ),
  'add-column-volatile-default': rule(
    'add-column-volatile-default',
    'error',
    'migration',
    'ADD COLUMN on an existing table has no volatile DEFAULT (gen_random_uuid(), random(), clock_timestamp()…): it rewrites the table',
  ),
  'set-not-null': rule(
    'set-not-null',
    'error',
    'migration',
    'ALTER COLUMN … SET NOT NULL on an existing table follows a validated CHECK (… IS NOT NULL) NOT VALID constraint',
  ),
  'alter-column-type': rule(
    'alter-column-type',
    'error',
    'migration',
    'ALTER COLUMN … TYPE on an existing table (most type changes rewrite the table under ACCESS EXCLUSIVE)',
  ),
  'constraint-not-valid': rule(
    'constraint-not-valid',
    'error',
    'migration',
    'a FOREIGN KEY or CHECK added to an existing table is NOT VALID, validated in a later migration',
  ),
  'unique-using-index': rule(
    'unique-using-index',
    'error',
    'migration',
    'a PRIMARY KEY or UNIQUE constraint added to an existing table uses an index built CONCURRENTLY (USING INDEX)',
  ),
  'drop-object': rule(
    'drop-object',
    'error',
    'migration',
    'DROP TABLE/COLUMN/SCHEMA/TYPE/SEQUENCE/CONSTRAINT and TRUNCATE of existing objects state their plan in a waiver',
  ),
  'rename-object': rule(
    'rename-object',
    'error',
    'migration',
    'renaming an existing table, column or schema breaks running code: add the new one, move, drop later',
  ),
  timestamptz: rule('timestamptz', 'error', 'migration', 'timestamps are timestamptz, never timestamp without time zone'),
  'prefer-jsonb': rule('prefer-jsonb', 'error', 'migration', 'documents are jsonb, never json'),
  'prefer-identity': rule('prefer-identity', 'error', 'migration', 'generated integers are GENERATED … AS IDENTITY, never serial'),
  'prefer-text': rule('prefer-text', 'warning', 'migration', 'strings are text with a CHECK on length, not varchar(n) or char(n)'),
  'lock-timeout': rule(
    'lock-timeout',
    'error',
    'migration',
    'migrations do not SET lock_timeout/statement_timeout themselves (the runner sets lock_timeout per migration; -- stella:lock-timeout <ms> changes it) and turn it off (0) only without a transaction',
  ),
  'waiver-reason': rule(
    'waiver-reason',
    'error',
    'migration',
    'a waiver (-- stella:allow <rule> <reason>) names a known rule and gives a reason',
  ),
  'waiver-unused': rule('waiver-unused', 'warning', 'migration', 'a waiver that matches no finding is removed'),
  'capture-partial': rule(
    'capture-partial',
    'warning',
    'migration',
    'a TypeScript migration whose SQL could not all be captured is only partly linted',
  ),
} as const satisfies Record<string, LintRuleInfo>;

/** A rule id. */
export type LintRuleId = keyof typeof LINT_RULES;

/** Whether `id` is a known rule id. */
export function isLintRuleId(id: string): id is LintRuleId {
  return Object.hasOwn(LINT_RULES, id);
}

/** One problem found. */
export interface LintFinding {
  /** Rule id. */
  rule: LintRuleId;
  /** Severity (the rule's). */
  severity: LintSeverity;
  /** Migration id, or `schema` for live-schema findings. */
  migration: string;
  /** 1-based line in the migration's SQL (0 when unknown). */
  line: number;
  /** The object concerned, e.g. `notify.deliveries` or `notify.deliveries.payload`. */
  object: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** The waiver's reason when the finding is waived. */
  waived?: string;
}
