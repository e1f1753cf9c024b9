import { tenantIsolationSql, tenantTagRotationSql } from '@stellaops/postgres-core';

/**
 * What one tenant policy's expressions compare with, read from its text (a
 * migration's normalized SQL or the catalog's `pg_get_expr`; case and
 * whitespace do not matter).
 */
export interface TenantPolicyShape {
  /** `USING` calls `stellaops_security.current_tenant()`: secure, a PL/pgSQL HMAC check per statement. */
  readVerified: boolean;
  /** `USING` compares `tenant_tag` with `stellaops_security.session_tag()`: secure, inlined. */
  readTagged: boolean;
  /** `WITH CHECK` calls `stellaops_security.current_tenant()` (writes need the verified tenant). */
  writeVerified: boolean;
  /** Either expression compares `tenant_tag` (the table then needs the tag column and its triggers). */
  usesTag: boolean;
}

const VERIFIED = /stellaops_security\s*\.\s*current_tenant\s*\(\s*\)/i;
/**
 * The session's tag, as the function or as its body written out (what
 * `tenantIsolationSql` emits, so that planning parses no inlined function):
 * `sha256(convert_to(nullif(current_setting('app.tenant_proof', true), ''), 'UTF8'))`, with
 * or without `pg_catalog.`, in a migration's text or `pg_get_expr` output. A
 * pattern both JavaScript and PostgreSQL (`~*`) understand.
 */
export const SESSION_TAG_PATTERN =
  "stellaops_security\\s*\\.\\s*session_tag\\s*\\(\\s*\\)|sha256\\s*\\(\\s*(pg_catalog\\s*\\.\\s*)?convert_to\\s*\\(\\s*(nullif\\s*\\(\\s*)?(pg_catalog\\s*\\.\\s*)?current_setting\\s*\\(\\s*'app\\.tenant_proof'";

const SESSION_TAG = new RegExp(SESSION_TAG_PATTERN, 'i');

/**
 * The rotation trigger's `WHEN`: the row's tag equals the session's
 * previous-key tag, `new.tenant_tag = sha256(convert_to(nullif(current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))`
 * (with or without `pg_catalog.`, in a migration's text or `pg_get_triggerdef`
 * output). Without it the trigger would set the session's tag on every update,
 * which is NULL in an owner's session (the update then fails). A pattern both
 * JavaScript and PostgreSQL (`~*`) understand.
 */
export const ROTATION_WHEN_PATTERN =
  "when\\s*\\(\\s*\\(?\\s*new\\s*\\.\\s*tenant_tag\\s*=\\s*(pg_catalog\\s*\\.\\s*)?sha256\\s*\\(\\s*(pg_catalog\\s*\\.\\s*)?convert_to\\s*\\(\\s*(nullif\\s*\\(\\s*)?(pg_catalog\\s*\\.\\s*)?current_setting\\s*\\(\\s*'app\\.tenant_proof_previous'";
const TAG_COLUMN = /\btenant_tag\b/i;

/**
 * Classifies a tenant policy by its `USING` and `WITH CHECK` expressions. A
 * read is secure when it uses the verified tenant or the row tag; a write only
 * with the verified tenant (a tag is the sha256 of whatever proof the session
 * sent, so it alone says nothing about which tenant may write).
 *
 * @example
 * classifyTenantPolicy("tenant_id = current_setting('app.tenant_id')", "tenant_id = current_setting('app.tenant_id')").readVerified; // false
 */
export function classifyTenantPolicy(using: string, check: string): TenantPolicyShape {
  return {
    readVerified: VERIFIED.test(using),
    readTagged: TAG_COLUMN.test(using) && SESSION_TAG.test(using),
    writeVerified: VERIFIED.test(check),
    usesTag: TAG_COLUMN.test(using) || TAG_COLUMN.test(check),
  };
}

/** Whether a policy's read side is secure (verified tenant or row tag) and its write side verified. */
export function isSecureTenantPolicy(shape: TenantPolicyShape): boolean {
  return (shape.readVerified || shape.readTagged) && shape.writeVerified;
}

/**
 * The fix every tenant-policy finding names: a NEW migration holding
 * postgres-core's `tenantIsolationSql` output as literal SQL, with the policy
 * it creates for this table as the example.
 *
 * @example
 * tenantIsolationFix('notify', 'channels'); // "write a new migration with … tenantIsolationSql({ schema: 'notify', table: 'channels' }) …"
 */
export function tenantIsolationFix(schema: string, table: string): string {
  return newMigrationFix(
    'tenantIsolationSql',
    tenantIsolationSql,
    { schema, table },
    'create policy ',
    'tenant_tag column, backfill, default, fill, retag and rotation triggers, ENABLE + FORCE, policy',
  );
}

/**
 * The fix for a tagged table that lacks only the rotation trigger: a NEW
 * migration holding postgres-core's `tenantTagRotationSql` output as literal
 * SQL, with the trigger it creates for this table as the example.
 *
 * @example
 * tenantTagRotationFix('notify', 'channels'); // "write a new migration with … tenantTagRotationSql({ schema: 'notify', table: 'channels' }) …"
 */
export function tenantTagRotationFix(schema: string, table: string): string {
  return newMigrationFix(
    'tenantTagRotationSql',
    tenantTagRotationSql,
    { schema, table },
    'create trigger ',
    'drop trigger if exists, create trigger',
  );
}

/** "Write a new migration with the output of postgres-core's `<name>(…)`", with the statement starting `example` for this table. */
function newMigrationFix(
  name: string,
  helper: (args: { schema: string; table: string }) => string[],
  args: { schema: string; table: string },
  example: string,
  contents: string,
): string {
  let statement: string | undefined;
  try {
    statement = helper(args).find((s) => s.startsWith(example));
  } catch {
    statement = undefined; // a name postgres-core's helper refuses: the generic advice still holds
  }
  return (
    `write a new migration with the output of postgres-core's ${name}({ schema: '${args.schema}', table: '${args.table}' }) as literal SQL ` +
    `(${contents}${statement ? `: ${statement}` : ''})`
  );
}

/** What a tenant table has of the row tag: the column, its constraint and default, the triggers. */
export interface TenantTagFacts {
  /** `tenant_tag` exists. */
  column: boolean;
  /** It is `NOT NULL`. */
  notNull: boolean;
  /** It defaults to the session's tag (`stellaops_security.session_tag()` or its body written out). */
  defaulted: boolean;
  /** An enabled `BEFORE INSERT … FOR EACH ROW` trigger runs `stellaops_security.fill_tenant_tag('tenant_id')`. */
  fill: boolean;
  /** An enabled `BEFORE UPDATE [OF tenant_id] … FOR EACH ROW` trigger runs it too. */
  retag: boolean;
  /**
   * An enabled `BEFORE UPDATE … FOR EACH ROW` trigger (on any column: no `OF` list) runs
   * `stellaops_security.rotate_tenant_tag()` (postgres-core's `<table>_tenant_tag_rotate`).
   */
  rotate: boolean;
}

/** A tenant-rule finding before it gets its migration, line and severity. */
export interface TenantRuleFinding {
  rule: 'rls-policy' | 'rls-policy-verified-tenant' | 'rls-policy-tenant-tag' | 'tenant-tag-column';
  message: string;
}

/**
 * The tenant-policy findings for one tenant table, from its standard policies
 * (permissive, `FOR ALL`, `USING` and `WITH CHECK` on `tenant_id`) and its tag
 * facts — shared by the migration lint and the live-schema lint so both say
 * the same thing:
 *
 * - no standard policy → `rls-policy`;
 * - a standard policy that reads or writes on `app.tenant_id` alone (permissive
 *   policies are OR-ed: one forgeable policy opens the table) → `rls-policy-verified-tenant`;
 * - else a read side that calls `current_tenant()` per statement → `rls-policy-tenant-tag` (a warning: secure, slower);
 * - a policy comparing `tenant_tag` on a table without the column, its
 *   `NOT NULL` and default, or the fill, retag and rotation triggers →
 *   `tenant-tag-column` (when only the rotation trigger is missing, the fix
 *   is `tenantTagRotationSql` alone).
 *
 * @example
 * tenantTableFindings('notify', 'channels', [], { column: false, notNull: false, defaulted: false, fill: false, retag: false, rotate: false }); // [{ rule: 'rls-policy', … }]
 */
export function tenantTableFindings(
  schema: string,
  table: string,
  policies: readonly TenantPolicyShape[],
  tag: TenantTagFacts,
): TenantRuleFinding[] {
  const key = `${schema}.${table}`;
  const fix = tenantIsolationFix(schema, table);
  if (policies.length === 0)
    return [
      {
        rule: 'rls-policy',
        message: `tenant table ${key} has no standard tenant policy (permissive, FOR ALL, USING and WITH CHECK on tenant_id): ${fix}`,
      },
    ];
  const out: TenantRuleFinding[] = [];
  const forgeable = policies.filter((p) => !isSecureTenantPolicy(p));
  if (forgeable.length > 0) {
    const sides = [
      forgeable.some((p) => !p.readVerified && !p.readTagged) &&
        'its USING compares tenant_id with app.tenant_id alone (no row tag, no verified tenant)',
      forgeable.some((p) => !p.writeVerified) && 'its WITH CHECK does not compare with (select stellaops_security.current_tenant())',
    ].filter(Boolean);
    out.push({
      rule: 'rls-policy-verified-tenant',
      message: `the tenant policy of ${key} trusts app.tenant_id, which SQL alone can set — ${sides.join('; ')}: ${fix}`,
    });
  } else if (policies.some((p) => p.readVerified)) {
    out.push({
      rule: 'rls-policy-tenant-tag',
      message: `the tenant policy of ${key} reads through stellaops_security.current_tenant(), a PL/pgSQL HMAC check per statement (secure, slower): ${fix} — reads then compare each row's tenant_tag with the session's tag (the sha256 of its proof, once per statement)`,
    });
  }
  if (policies.some((p) => p.usesTag)) {
    const missing = [
      !tag.column && 'the tenant_tag bytea column',
      tag.column && !tag.notNull && 'NOT NULL on tenant_tag',
      tag.column && !tag.defaulted && 'DEFAULT stellaops_security.session_tag() on tenant_tag',
      !tag.fill && "the fill trigger (BEFORE INSERT … FOR EACH ROW … EXECUTE FUNCTION stellaops_security.fill_tenant_tag('tenant_id'))",
      !tag.retag &&
        "the retag trigger (BEFORE UPDATE OF tenant_id … FOR EACH ROW … EXECUTE FUNCTION stellaops_security.fill_tenant_tag('tenant_id'))",
      !tag.rotate &&
        `the rotation trigger (${table}_tenant_tag_rotate: BEFORE UPDATE … FOR EACH ROW WHEN (new.tenant_tag = <the session's previous-key tag>) EXECUTE FUNCTION stellaops_security.rotate_tenant_tag())`,
    ].filter((m): m is string => typeof m === 'string');
    const others = missing.length - (tag.rotate ? 0 : 1); // missing facts besides the rotation trigger
    const rotationOnly = !tag.rotate && others === 0;
    const why = [
      others > 0 && 'rows written without a tag, or moved to another tenant, would fail or vanish',
      !tag.rotate &&
        "during a tenant-key rotation every UPDATE of a row still carrying the old key's tag would fail, since WITH CHECK requires the session's tag",
    ].filter(Boolean);
    if (missing.length > 0)
      out.push({
        rule: 'tenant-tag-column',
        message: `the tenant policy of ${key} compares tenant_tag, but ${key} lacks ${missing.join(', ')} (${why.join('; ')}): ${rotationOnly ? tenantTagRotationFix(schema, table) : fix}`,
      });
  }
  return out;
}
