import { splitSqlStatements } from '@stellaops/migrator';
import { LINT_RULES, isLintRuleId, type LintFinding, type LintRuleId } from './rules.js';
import { IDENT, QNAME, balanced, lineOf, normalizeStatement, splitQualified, splitTopLevel } from './sql-scan.js';
import {
  classifyTenantPolicy,
  ROTATION_WHEN_PATTERN,
  SESSION_TAG_PATTERN,
  tenantTableFindings,
  type TenantPolicyShape,
} from './tenant-policy.js';

/** One migration to lint: its id and the SQL its `up` runs. */
export interface LintMigration {
  /** Migration id. */
  id: string;
  /** The SQL `up` runs (text, or what a TypeScript step compiled). */
  sql: string;
  /** Whether it runs in a transaction. */
  transaction: boolean;
  /** Its own lock_timeout in ms, when it sets one. */
  lockTimeoutMs?: number | undefined;
  /** Why its SQL is incomplete (a TypeScript step that could not all be captured). */
  partial?: string | undefined;
}

/** A waiver kept outside a frozen migration (a module's `lint-waivers.json`). */
export interface LintWaiver {
  /** Migration id (or `schema` for live-schema findings). */
  migration: string;
  /** Rule id. */
  rule: string;
  /** The finding's object; any object of that rule in that migration when omitted. */
  object?: string;
  /** Why the finding is intended (required). */
  reason: string;
}

/** What to lint: a module's schema and migrations, in order. */
export interface LintInput {
  /** The module's schema. */
  schema: string;
  /** Migrations in apply order. */
  migrations: readonly LintMigration[];
  /** Waivers from the module's waiver file. */
  waivers?: readonly LintWaiver[];
  /** The app role (default `stellaops_app`). */
  appRole?: string;
}

interface TableState {
  schema: string;
  name: string;
  createdIn: string;
  createLine: number;
  tenant: boolean;
  pkFirst: string | undefined;
  enabled: boolean;
  forced: boolean;
  /** Last policy per name: its normalized text. */
  policies: Map<string, string>;
  /** The row tag column `tenant_tag`. */
  tag: { column: boolean; notNull: boolean; defaulted: boolean };
  /**
   * Triggers by name: whether each fills the tag on insert / re-tags on a tenant change / re-tags an old-key row on
   * any update (key rotation), and is enabled.
   */
  triggers: Map<string, { fill: boolean; retag: boolean; rotate: boolean; enabled: boolean }>;
}

/** A `NO FORCE ROW LEVEL SECURITY` waiting for the end of its migration: re-forced there, it never committed. */
interface ForceLift {
  key: string;
  line: number;
  waivers: InlineWaiver[];
  statement: string;
}

interface InlineWaiver {
  rule: string;
  reason: string;
  used: boolean;
  line: number;
}

const SESSION_TAG_DEFAULT = new RegExp(SESSION_TAG_PATTERN, 'i');
const FILL_TAG_FUNCTION = /\bexecute (?:function|procedure) stellaops_security\.fill_tenant_tag \('tenant_id'\)/;
const ROTATE_TAG_FUNCTION = /\bexecute (?:function|procedure) stellaops_security\.rotate_tenant_tag \(\)/;
const ROTATION_WHEN = new RegExp(ROTATION_WHEN_PATTERN, 'i');
const VOLATILE = /\b(gen_random_uuid|uuid_generate_v[14]|random|clock_timestamp|timeofday|nextval|txid_current)\s*\(/;
const NAME_OK = /^[a-z_][a-z0-9_]*$/;

/**
 * Lints a module's migrations against docs/RULES.md. Statement rules look at
 * each statement; table rules (tenant keys, RLS, policy) look at each table's
 * state after the whole set and are reported at its CREATE TABLE. A statement
 * is waived by comment lines right before it: `-- stella:allow <rule> <reason>`.
 *
 * @example
 * const findings = lintMigrations({ schema: 'notify', migrations: [{ id: 'V001_X', sql: 'create table notify.x (payload json)', transaction: true }] });
 * findings.some((f) => f.rule === 'prefer-jsonb'); // true
 */
export function lintMigrations(input: LintInput): LintFinding[] {
  return new MigrationLinter(input).run();
}

class MigrationLinter {
  readonly #input: LintInput;
  readonly #appRole: string;
  readonly #tables = new Map<string, TableState>();
  readonly #findings: LintFinding[] = [];
  #current: { id: string; line: number; waivers: InlineWaiver[] } = { id: '', line: 0, waivers: [] };
  /** Inline waivers of each table's CREATE TABLE statement (table rules are reported there). */
  readonly #createWaivers = new Map<string, InlineWaiver[]>();
  readonly #allInline: { migration: string; waiver: InlineWaiver }[] = [];
  /** Whether the migration being linted runs in a transaction. */
  #inTransaction = true;
  /** FORCE lifted in the migration being linted (postgres-core's tag backfill lifts it and forces again). */
  #lifts: ForceLift[] = [];
  /** Tables forced in the migration being linted (also those created outside the linted set). */
  #forcedNow = new Set<string>();
  /** Tables whose tenant_tag the migration being linted adds (also those created outside the linted set). */
  #taggedNow = new Set<string>();

  constructor(input: LintInput) {
    this.#input = input;
    this.#appRole = input.appRole ?? 'stellaops_app';
  }

  run(): LintFinding[] {
    for (const m of this.#input.migrations) this.#lintMigration(m);
    this.#tableRules();
    for (const { migration, waiver } of this.#allInline) {
      if (!waiver.used && isLintRuleId(waiver.rule) && waiver.reason !== '') {
        this.#push({
          rule: 'waiver-unused',
          migration,
          line: waiver.line,
          object: waiver.rule,
          message: `waiver for ${waiver.rule} matches no finding of the statement after it: remove it`,
        });
      }
    }
    return this.#applyFileWaivers();
  }

  #lintMigration(m: LintMigration): void {
    if (m.partial)
      this.#push({
        rule: 'capture-partial',
        migration: m.id,
        line: 0,
        object: m.id,
        message: `only part of ${m.id}'s SQL could be captured (${m.partial}): lint its remaining statements by reading them, or write it as SQL text`,
      });
    if (m.lockTimeoutMs === 0 && m.transaction) {
      this.#push({
        rule: 'lock-timeout',
        migration: m.id,
        line: 0,
        object: m.id,
        message: `${m.id} turns lock_timeout off (0) while running in a transaction: a blocked DDL statement then queues every query behind it; keep the runner's lock_timeout, or use 0 only for a no-transaction CREATE INDEX CONCURRENTLY`,
      });
    }
    let prevEnd = 0;
    this.#inTransaction = m.transaction;
    this.#lifts = [];
    this.#forcedNow = new Set();
    this.#taggedNow = new Set();
    for (const stmt of splitSqlStatements(m.sql)) {
      const waivers = this.#inlineWaivers(m.id, m.sql, prevEnd, stmt.start);
      prevEnd = stmt.end;
      this.#current = { id: m.id, line: lineOf(m.sql, stmt.start), waivers };
      this.#statement(normalizeStatement(stmt.text), m);
    }
    // FORCE lifted and not forced again before the migration commits: isolation is off for the owner afterwards
    for (const lift of this.#lifts) {
      const t = this.#tables.get(lift.key);
      if (t ? t.forced : this.#forcedNow.has(lift.key)) continue;
      this.#current = { id: m.id, line: lift.line, waivers: lift.waivers };
      this.#forceFinding(lift.key, lift.statement);
    }
    this.#lifts = [];
  }

  #inlineWaivers(migration: string, sql: string, from: number, to: number): InlineWaiver[] {
    const out: InlineWaiver[] = [];
    const gap = sql.slice(from, to);
    let offset = from;
    for (const raw of gap.split('\n')) {
      const m = /^\s*(?:;\s*)?--\s*stella:allow\b\s*(\S*)\s*(.*)$/.exec(raw);
      if (m) {
        const line = lineOf(sql, offset);
        const rule = m[1] as string;
        const reason = (m[2] as string).trim();
        const waiver: InlineWaiver = { rule, reason, used: false, line };
        if (!isLintRuleId(rule))
          this.#pushAt(migration, line, {
            rule: 'waiver-reason',
            object: rule || '(none)',
            message: `waiver names ${rule ? `an unknown rule "${rule}"` : 'no rule'}: write -- stella:allow <rule> <reason> with a rule id from docs/RULES.md`,
          });
        else if (reason === '')
          this.#pushAt(migration, line, {
            rule: 'waiver-reason',
            object: rule,
            message: `waiver for ${rule} has no reason: write -- stella:allow ${rule} <why this is intended>`,
          });
        out.push(waiver);
        this.#allInline.push({ migration, waiver });
      }
      offset += raw.length + 1;
    }
    return out;
  }

  // ---- statements -------------------------------------------------------

  #statement(s: string, m: LintMigration): void {
    let r: RegExpExecArray | null;
    if (/^set (local |session )?(lock_timeout|statement_timeout)\b/.test(s) || /set_config \('(lock_timeout|statement_timeout)'/.test(s)) {
      this.#push({
        rule: 'lock-timeout',
        object: m.id,
        message: `${m.id} sets ${/statement_timeout/.test(s) ? 'statement_timeout' : 'lock_timeout'} itself: the runner sets lock_timeout per migration and retries; to change it declare -- stella:lock-timeout <ms> (SQL) or lockTimeoutMs (TypeScript)`,
      });
      return;
    }
    if ((r = new RegExp(`^create schema (?:if not exists )?(${IDENT})`).exec(s))) {
      this.#name('schema', r[1] as string, r[1] as string);
      return;
    }
    if ((r = new RegExp(`^create (?:unlogged |temporary |temp )?table (?:if not exists )?${QNAME} \\(`).exec(s))) {
      this.#createTable(r[1] as string, s, r[0].length - 1);
      return;
    }
    if (
      (r = new RegExp(
        `^create (unique )?index (concurrently )?(?:if not exists )?(?:(${IDENT}) )?on (?:only )?${QNAME}(?: using ${IDENT})? \\(`,
      ).exec(s))
    ) {
      this.#createIndex(
        { unique: Boolean(r[1]), concurrently: Boolean(r[2]), name: r[3], table: r[4] as string, stmt: s, open: r[0].length - 1 },
        m,
      );
      return;
    }
    if ((r = /^drop index (concurrently )?(?:if exists )?(.+?)(?: cascade| restrict)?$/.exec(s))) {
      if (!r[1])
        this.#push({
          rule: 'index-concurrently',
          object: r[2] as string,
          message: `DROP INDEX ${r[2]} takes an ACCESS EXCLUSIVE lock on its table: use DROP INDEX CONCURRENTLY in a -- stella:no-transaction migration`,
        });
      else if (m.transaction) this.#concurrentlyInTransaction(r[2] as string);
      return;
    }
    if ((r = new RegExp(`^alter table (?:if exists )?(?:only )?${QNAME} (.*)$`).exec(s))) {
      this.#alterTable(r[1] as string, r[2] as string);
      return;
    }
    if ((r = new RegExp(`^create policy (${IDENT}) on ${QNAME}(.*)$`).exec(s))) {
      const t = this.#table(r[2] as string);
      if (t) t.policies.set(r[1] as string, r[3] as string);
      return;
    }
    if ((r = new RegExp(`^drop policy (?:if exists )?(${IDENT}) on ${QNAME}`).exec(s))) {
      this.#table(r[2] as string)?.policies.delete(r[1] as string);
      return;
    }
    if (
      (r = new RegExp(`^create (?:or replace )?(?:constraint )?trigger (${IDENT}) (before|after|instead of) (.+?) on ${QNAME} (.*)$`).exec(
        s,
      ))
    ) {
      this.#createTrigger(r[1] as string, r[2] as string, r[3] as string, r[4] as string, r[5] as string);
      return;
    }
    if ((r = new RegExp(`^drop trigger (?:if exists )?(${IDENT}) on ${QNAME}`).exec(s))) {
      this.#table(r[2] as string)?.triggers.delete(r[1] as string);
      return;
    }
    if (
      (r =
        /^drop (table|schema|type|sequence|domain|view|materialized view|function|extension) (?:if exists )?(.+?)(?: cascade| restrict)?$/.exec(
          s,
        ))
    ) {
      for (const name of splitTopLevel(r[2] as string)) this.#dropObject(r[1] as string, name);
      return;
    }
    if ((r = /^truncate (?:table )?(?:only )?(.+?)(?: restart identity| continue identity)?(?: cascade| restrict)?$/.exec(s))) {
      this.#push({
        rule: 'drop-object',
        object: r[1] as string,
        message: `TRUNCATE ${r[1]} deletes every tenant's rows under an ACCESS EXCLUSIVE lock: state the plan in -- stella:allow drop-object <plan>, or delete in batches`,
      });
      return;
    }
    if ((r = new RegExp(`^alter (schema|index|sequence|view|type) ${QNAME} rename`).exec(s))) {
      this.#push({
        rule: 'rename-object',
        object: r[2] as string,
        message: `renaming ${r[1]} ${r[2]} breaks code that uses the old name: create the new one, move users over, drop the old one later`,
      });
      return;
    }
    this.#appRoleStatement(s);
  }

  #appRoleStatement(s: string): void {
    const role = this.#appRole;
    let r: RegExpExecArray | null;
    if (new RegExp(`\\bowner to ${role}\\b`).test(s)) {
      this.#push({
        rule: 'app-role-privileges',
        object: role,
        message: `${role} must own nothing (an owner bypasses RLS unless FORCE and can ALTER/DROP): leave the object to the owner role`,
      });
      return;
    }
    if ((r = new RegExp(`^(?:alter|create) (?:role|user) ${role}\\b(.*)$`).exec(s))) {
      const bad = /\b(superuser|bypassrls|createrole|createdb|replication)\b/.exec(
        (r[1] as string).replace(/\bno(superuser|bypassrls|createrole|createdb|replication)\b/g, ''),
      );
      if (bad)
        this.#push({
          rule: 'app-role-privileges',
          object: role,
          message: `${role} must not have ${(bad[1] as string).toUpperCase()}: the app role is least-privilege (NO${(bad[1] as string).toUpperCase()})`,
        });
      return;
    }
    if ((r = new RegExp(`^grant (.+?) on (.+?) to (.*\\b${role}\\b.*)$`).exec(s))) {
      const privs = splitTopLevel(r[1] as string).map((p) => p.replace(/ \(.*$/, '').trim());
      const bad = privs.filter((p) => !['select', 'insert', 'update', 'delete', 'usage'].includes(p));
      if (bad.length > 0)
        this.#push({
          rule: 'app-role-privileges',
          object: role,
          message: `GRANT ${bad.join(', ').toUpperCase()} on ${r[2]} to ${role}: the app role gets only USAGE and SELECT/INSERT/UPDATE/DELETE (no CREATE, TRUNCATE, REFERENCES, TRIGGER, ALL)`,
        });
    }
  }

  #concurrentlyInTransaction(object: string): void {
    this.#push({
      rule: 'concurrently-in-transaction',
      object,
      message: `CONCURRENTLY cannot run inside a transaction: put this one statement in its own migration with -- stella:no-transaction (TypeScript: transaction: false)`,
    });
  }

  #createTable(qname: string, s: string, open: number): void {
    const { schema, name } = splitQualified(qname);
    const key = this.#key(qname);
    if (schema === undefined)
      this.#push({
        rule: 'schema-qualified',
        object: name,
        message: `CREATE TABLE ${name} is not schema-qualified: write ${this.#input.schema}.${name}`,
      });
    else if (schema !== this.#input.schema)
      this.#push({
        rule: 'schema-qualified',
        object: qname,
        message: `table ${qname} is outside the module's schema ${this.#input.schema}: create it as ${this.#input.schema}.${name}`,
      });
    this.#name('table', name, key);
    const state: TableState = {
      schema: schema ?? this.#input.schema,
      name,
      createdIn: this.#current.id,
      createLine: this.#current.line,
      tenant: false,
      pkFirst: undefined,
      enabled: false,
      forced: false,
      policies: new Map(),
      tag: { column: false, notNull: false, defaulted: false },
      triggers: new Map(),
    };
    this.#tables.set(key, state);
    this.#createWaivers.set(key, this.#current.waivers);
    const body = balanced(s, open).inner;
    const uniqueFirsts: string[] = [];
    for (const element of splitTopLevel(body)) {
      const head = /^(constraint (\S+) )?(.*)$/.exec(element) as RegExpExecArray;
      const rest = head[3] as string;
      if (head[2] !== undefined || /^(primary key|unique|check|foreign key|exclude|like)\b/.test(rest)) {
        if (head[2] !== undefined) this.#constraintName(head[2], rest, key);
        const pk = /^primary key \((.*?)\)/.exec(rest);
        if (pk) state.pkFirst = splitTopLevel(pk[1] as string)[0];
        const unique = /^unique (?:nulls (?:not )?distinct )?\((.*?)\)/.exec(rest);
        if (unique) uniqueFirsts.push(splitTopLevel(unique[1] as string)[0] ?? '');
        continue;
      }
      const col = new RegExp(`^(${IDENT}) (.*)$`).exec(element);
      if (!col) continue;
      const column = col[1] as string;
      this.#column(key, column, col[2] as string);
      if (column === 'tenant_id') state.tenant = true;
      if (column === 'tenant_tag') this.#tagColumn(state, col[2] as string);
      if (/\bprimary key\b/.test(col[2] as string)) state.pkFirst = column;
      if (/\bunique\b/.test(col[2] as string)) uniqueFirsts.push(column);
      const cc = new RegExp(`\\bconstraint (${IDENT}) (primary key|unique|check|references)`).exec(col[2] as string);
      if (cc) this.#constraintName(cc[1] as string, cc[2] as string, key);
    }
    if (state.tenant) for (const first of uniqueFirsts) this.#uniqueLeading(key, first);
  }

  /** A UNIQUE constraint of a tenant table must start with tenant_id, like every index (and for security, see RULES.md). */
  #uniqueLeading(key: string, first: string | undefined): void {
    if (first === undefined || /^tenant_id\b/.test(first)) return;
    this.#push({
      rule: 'tenant-index-leading',
      object: `${key}.unique(${first})`,
      message: `UNIQUE constraint on tenant table ${key} starts with ${first}: put tenant_id first (its index serves no tenant query otherwise, and INSERT … ON CONFLICT DO UPDATE … WHERE would run its WHERE on another tenant's conflicting row)`,
    });
  }

  #column(table: string, column: string, def: string): void {
    this.#name('column', column, `${table}.${column}`);
    const type = def.split(/ (?=not null|null|default|primary key|references|check|unique|constraint|generated|collate)\b/)[0] as string;
    this.#columnType(`${table}.${column}`, type);
  }

  #columnType(object: string, type: string): void {
    if (/\btimestamp\b(?! ?(\(\d+\) )?with time zone)/.test(type))
      this.#push({
        rule: 'timestamptz',
        object,
        message: `${object} is timestamp without time zone: use timestamptz (stored in UTC, rendered per session time zone)`,
      });
    if (/\bjson\b/.test(type))
      this.#push({ rule: 'prefer-jsonb', object, message: `${object} is json: use jsonb (indexable, compact, no duplicate keys)` });
    if (/\b(small|big)?serial\d?\b/.test(type))
      this.#push({
        rule: 'prefer-identity',
        object,
        message: `${object} is ${/\b\w*serial\w*\b/.exec(type)?.[0]}: use bigint generated always as identity (or a uuid)`,
      });
    if (/\b(varchar|character varying|char|character|bpchar)\b/.test(type))
      this.#push({
        rule: 'prefer-text',
        object,
        message: `${object} is ${type.trim()}: use text with check (length(…) <= n) (changing a length limit later needs no lock-heavy type change)`,
      });
  }

  #createIndex(
    ix: { unique: boolean; concurrently: boolean; name: string | undefined; table: string; stmt: string; open: number },
    m: LintMigration,
  ): void {
    const key = this.#key(ix.table);
    const tableName = splitQualified(ix.table).name;
    const object = ix.name ?? `(unnamed index on ${key})`;
    if (ix.name === undefined)
      this.#push({
        rule: 'naming-index',
        object,
        message: `index on ${key} has no name: name it ${tableName}_<columns>_${ix.unique ? 'key' : 'idx'}`,
      });
    else {
      this.#name('index', ix.name, ix.name);
      const suffix = ix.unique ? '_key' : '_idx';
      if (!ix.name.startsWith(`${tableName}_`) || !(ix.name.endsWith(suffix) || (!ix.unique && ix.name.endsWith('_key')))) {
        this.#push({
          rule: 'naming-index',
          object: ix.name,
          message: `index ${ix.name} on ${key}: name it ${tableName}_<columns>${suffix}`,
        });
      }
    }
    const t = this.#tables.get(key);
    const first = splitTopLevel(balanced(ix.stmt, ix.open).inner)[0] ?? '';
    if (t?.tenant && !/^tenant_id\b/.test(first)) {
      this.#push({
        rule: 'tenant-index-leading',
        object,
        message: `index ${object} on tenant table ${key} starts with ${first}: put tenant_id first (every query is per tenant; RLS adds tenant_id = …)`,
      });
    }
    const existing = t === undefined || t.createdIn !== this.#current.id;
    if (existing && !ix.concurrently)
      this.#push({
        rule: 'index-concurrently',
        object,
        message: `CREATE INDEX ${object} on ${key}, which exists before this migration, blocks its writes for the whole build: use CREATE INDEX CONCURRENTLY in its own -- stella:no-transaction migration (lock-timeout 0)`,
      });
    if (ix.concurrently && m.transaction) this.#concurrentlyInTransaction(object);
  }

  #alterTable(qname: string, actions: string): void {
    const key = this.#key(qname);
    const t = this.#tables.get(key);
    const existing = t === undefined || t.createdIn !== this.#current.id;
    if (/^rename to /.test(actions) || /^rename (column )?\S+ to /.test(actions)) {
      if (existing)
        this.#push({
          rule: 'rename-object',
          object: key,
          message: `renaming in ${key} breaks code that still uses the old name: add the new column/table, write both, move readers, drop the old one later`,
        });
      return;
    }
    if (/^set schema /.test(actions)) return;
    for (const action of splitTopLevel(actions)) this.#alterAction(key, t, existing, action);
  }

  #alterAction(key: string, t: TableState | undefined, existing: boolean, a: string): void {
    let r: RegExpExecArray | null;
    if (a === 'enable row level security') {
      if (t) t.enabled = true;
    } else if (a === 'force row level security') {
      if (t) t.forced = true;
      this.#forcedNow.add(key);
    } else if (a === 'no force row level security' && this.#inTransaction) {
      // postgres-core's tag backfill lifts FORCE and forces again in the same transaction: judged at the migration's end
      if (t) t.forced = false;
      this.#forcedNow.delete(key);
      this.#lifts.push({ key, line: this.#current.line, waivers: this.#current.waivers, statement: a });
    } else if (a === 'disable row level security' || a === 'no force row level security') {
      if (t && a.startsWith('disable')) t.enabled = false;
      else if (t) t.forced = false;
      this.#forceFinding(key, a);
    } else if ((r = /^(disable|enable) trigger (.+?)(?: always| replica)?$/.exec(a))) {
      const which = r[2] as string;
      for (const [name, trigger] of t?.triggers ?? [])
        if (which === name || which === 'all' || which === 'user') trigger.enabled = r[1] === 'enable';
    } else if (
      (r = new RegExp(
        `^add (?:column )?(?:if not exists )?(?!constraint |primary key|unique|check|foreign key|exclude)(${IDENT}) (.*)$`,
      ).exec(a))
    ) {
      const column = r[1] as string;
      const def = r[2] as string;
      this.#column(key, column, def);
      if (column === 'tenant_id' && t) t.tenant = true;
      if (column === 'tenant_tag' && t && !t.tag.column) this.#tagColumn(t, def);
      if (column === 'tenant_tag') this.#taggedNow.add(key);
      if (existing && /\bnot null\b/.test(def) && !/\bdefault\b/.test(def) && !/\bgenerated\b/.test(def)) {
        this.#push({
          rule: 'add-column-not-null',
          object: `${key}.${column}`,
          message: `ADD COLUMN ${column} NOT NULL without a DEFAULT fails on a table with rows: add it with a constant DEFAULT, or nullable then backfill and SET NOT NULL after a validated CHECK`,
        });
      }
      if (
        existing &&
        ((/\bdefault .*/.test(def) && VOLATILE.test(def.replace(/^.*?\bdefault\b/, ''))) ||
          /\bgenerated always as \(.*\) stored\b/.test(def))
      ) {
        this.#push({
          rule: 'add-column-volatile-default',
          object: `${key}.${column}`,
          message: `ADD COLUMN ${column} with a volatile default or stored generated value rewrites ${key} under ACCESS EXCLUSIVE: add it without the default, backfill in batches, then SET DEFAULT`,
        });
      }
    } else if ((r = new RegExp(`^alter (?:column )?(${IDENT}) (?:set data )?type (.*)$`).exec(a))) {
      this.#columnType(`${key}.${r[1]}`, (r[2] as string).replace(/ using .*$/, ''));
      if (existing)
        this.#push({
          rule: 'alter-column-type',
          object: `${key}.${r[1]}`,
          message: `ALTER COLUMN ${r[1]} TYPE on ${key} rewrites the table (and its indexes) under ACCESS EXCLUSIVE unless the change is binary-compatible: add a new column, backfill, switch, drop later; or waive with the reason it does not rewrite (e.g. varchar(n) → text)`,
        });
    } else if ((r = new RegExp(`^alter (?:column )?(${IDENT}) set not null$`).exec(a))) {
      // postgres-core's tag switch adds, backfills and sets NOT NULL in one migration under the ADD COLUMN's lock, by
      // design; run again on a table that has the tag already, SET NOT NULL is a no-op
      const tagBackfill = r[1] === 'tenant_tag' && (this.#taggedNow.has(key) || t?.tag.notNull === true);
      if (r[1] === 'tenant_tag' && t) t.tag.notNull = true;
      if (existing && !tagBackfill)
        this.#push({
          rule: 'set-not-null',
          object: `${key}.${r[1]}`,
          message: `SET NOT NULL on ${key}.${r[1]} scans the table under ACCESS EXCLUSIVE: first ADD CONSTRAINT … CHECK (${r[1]} IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (uses the constraint)`,
        });
    } else if ((r = new RegExp(`^alter (?:column )?(${IDENT}) (set default (.*)|drop default|drop not null)$`).exec(a))) {
      if (r[1] === 'tenant_tag' && t) {
        if (r[2] === 'drop not null') t.tag.notNull = false;
        else t.tag.defaulted = r[3] !== undefined && SESSION_TAG_DEFAULT.test(r[3]);
      }
    } else if ((r = new RegExp(`^drop (?:column )?(?:if exists )?(?!constraint )(${IDENT})(?: cascade| restrict)?$`).exec(a))) {
      if (r[1] === 'tenant_tag' && t) t.tag = { column: false, notNull: false, defaulted: false };
      if (existing)
        this.#push({
          rule: 'drop-object',
          object: `${key}.${r[1]}`,
          message: `DROP COLUMN ${key}.${r[1]} breaks code that still reads it and loses its data: state the plan in -- stella:allow drop-object <plan> (e.g. no release reads it since …)`,
        });
    } else if ((r = new RegExp(`^drop constraint (?:if exists )?(${IDENT})`).exec(a))) {
      if (existing)
        this.#push({
          rule: 'drop-object',
          object: `${key}.${r[1]}`,
          message: `DROP CONSTRAINT ${r[1]} on ${key} lets rows in that code may not handle: state the plan in -- stella:allow drop-object <plan>`,
        });
    } else if ((r = /^add (?:constraint (\S+) )?(primary key|unique|foreign key|check|exclude)\b(.*)$/.exec(a))) {
      if (r[1] !== undefined) this.#constraintName(r[1], r[2] as string, key);
      const kind = r[2] as string;
      const rest = r[3] as string;
      if (kind === 'primary key' && t) t.pkFirst = /\((.*?)\)/.exec(rest)?.[1]?.split(',')[0]?.trim();
      if (kind === 'unique' && t?.tenant && !/^ using index\b/.test(rest))
        this.#uniqueLeading(key, /\((.*?)\)/.exec(rest)?.[1]?.split(',')[0]?.trim());
      if (!existing) return;
      if ((kind === 'foreign key' || kind === 'check') && !/\bnot valid\b/.test(rest)) {
        this.#push({
          rule: 'constraint-not-valid',
          object: `${key}.${r[1] ?? kind}`,
          message: `ADD ${kind.toUpperCase()} on ${key} checks every row while holding its lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration`,
        });
      }
      if ((kind === 'primary key' || kind === 'unique') && !/^ using index\b/.test(rest)) {
        this.#push({
          rule: 'unique-using-index',
          object: `${key}.${r[1] ?? kind}`,
          message: `ADD ${kind.toUpperCase()} on ${key} builds its index under ACCESS EXCLUSIVE: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … ${kind.toUpperCase()} USING INDEX`,
        });
      }
    } else if (new RegExp(`^owner to ${this.#appRole}$`).test(a)) {
      this.#push({
        rule: 'app-role-privileges',
        object: key,
        message: `${key} would be owned by ${this.#appRole}: the app role owns nothing (an owner can ALTER/DROP and bypasses RLS without FORCE)`,
      });
    }
  }

  #dropObject(kind: string, name: string): void {
    const key = kind === 'table' ? this.#key(name) : name;
    const t = kind === 'table' ? this.#tables.get(key) : undefined;
    if (t && t.createdIn === this.#current.id) {
      this.#tables.delete(key);
      return;
    }
    if (kind === 'table') this.#tables.delete(key);
    this.#push({
      rule: 'drop-object',
      object: key,
      message: `DROP ${kind.toUpperCase()} ${key} loses data or breaks code still using it: state the plan in -- stella:allow drop-object <plan> (which release stopped using it, where the data went)`,
    });
  }

  // ---- names ------------------------------------------------------------

  #name(kind: string, name: string, object: string): void {
    if (!NAME_OK.test(name) || name.length > 63) {
      const fix = name
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, '_')
        .slice(0, 63);
      this.#push({
        rule: 'naming-snake-case',
        object,
        message: `${kind} name "${name}" is not lower snake_case (≤ 63 characters): use ${fix}`,
      });
    }
  }

  #constraintName(name: string, kind: string, table: string): void {
    this.#name('constraint', name, `${table}.${name}`);
    const tableName = splitQualified(table).name;
    const suffix = /^primary key/.test(kind) ? '_pkey' : /^(foreign key|references)/.test(kind) ? '_fkey' : undefined;
    if (!name.startsWith(`${tableName}_`) || (suffix !== undefined && !name.endsWith(suffix))) {
      this.#push({
        rule: 'naming-index',
        object: `${table}.${name}`,
        message: `constraint ${name} on ${table}: name it ${tableName}_<what it says>${suffix ?? ''}`,
      });
    }
  }

  // ---- table rules ------------------------------------------------------

  #tableRules(): void {
    for (const [key, t] of this.#tables) {
      if (!t.tenant) continue;
      this.#current = { id: t.createdIn, line: t.createLine, waivers: this.#createWaivers.get(key) ?? [] };
      if (t.pkFirst !== 'tenant_id')
        this.#push({
          rule: 'tenant-pk-leading',
          object: key,
          message: `tenant table ${key} has ${t.pkFirst ? `a primary key starting with ${t.pkFirst}` : 'no primary key'}: make it primary key (tenant_id, …)`,
        });
      if (!t.enabled || !t.forced)
        this.#push({
          rule: 'rls-enable-force',
          object: key,
          message: `tenant table ${key} lacks ${[!t.enabled && 'ENABLE', !t.forced && 'FORCE'].filter(Boolean).join(' and ')} ROW LEVEL SECURITY: add alter table ${key} enable row level security; alter table ${key} force row level security`,
        });
      const standard = [...t.policies.values()].map(standardPolicy).filter((p): p is TenantPolicyShape => p !== undefined);
      const triggers = [...t.triggers.values()].filter((x) => x.enabled);
      const tag = {
        ...t.tag,
        fill: triggers.some((x) => x.fill),
        retag: triggers.some((x) => x.retag),
        rotate: triggers.some((x) => x.rotate),
      };
      for (const f of tenantTableFindings(t.schema, t.name, standard, tag)) this.#push({ rule: f.rule, object: key, message: f.message });
    }
  }

  // ---- row tag ------------------------------------------------------------

  #tagColumn(t: TableState, def: string): void {
    t.tag.column = true;
    t.tag.notNull = /\bnot null\b/.test(def) || /\bprimary key\b/.test(def);
    t.tag.defaulted = SESSION_TAG_DEFAULT.test(def.replace(/^.*?\bdefault\b/, '')) && /\bdefault\b/.test(def);
  }

  #createTrigger(name: string, timing: string, events: string, table: string, rest: string): void {
    const t = this.#table(table);
    if (!t) return;
    const beforeRow = timing === 'before' && /\bfor each row\b/.test(rest);
    const runsFill = beforeRow && FILL_TAG_FUNCTION.test(rest);
    const list = events.split(' or ').map((e) => e.trim());
    const update = list.map((e) => /^update(?: of (.*))?$/.exec(e)).find((m) => m !== null);
    t.triggers.set(name, {
      fill: runsFill && list.includes('insert'),
      retag: runsFill && update !== undefined && (update[1] === undefined || splitTopLevel(update[1]).includes('tenant_id')),
      // a rotation updates any column: an UPDATE OF list would let an old-key row's update through untouched
      rotate: beforeRow && ROTATE_TAG_FUNCTION.test(rest) && ROTATION_WHEN.test(rest) && update !== undefined && update[1] === undefined,
      enabled: true,
    });
  }

  #forceFinding(key: string, action: string): void {
    this.#push({
      rule: 'rls-enable-force',
      object: key,
      message: `${action.toUpperCase()} on ${key} turns tenant isolation off: keep ENABLE + FORCE ROW LEVEL SECURITY (lifting FORCE is fine only when the same transactional migration forces it again, as postgres-core's tenantIsolationSql does)`,
    });
  }

  // ---- plumbing ---------------------------------------------------------

  #table(qname: string): TableState | undefined {
    return this.#tables.get(this.#key(qname));
  }

  #key(qname: string): string {
    const { schema, name } = splitQualified(qname);
    return `${schema ?? this.#input.schema}.${name}`;
  }

  #push(f: { rule: LintRuleId; object: string; message: string; migration?: string; line?: number }): void {
    const migration = f.migration ?? this.#current.id;
    const line = f.line ?? this.#current.line;
    const finding: LintFinding = {
      rule: f.rule,
      severity: LINT_RULES[f.rule].severity,
      migration,
      line,
      object: f.object,
      message: f.message,
    };
    if (f.migration === undefined) {
      const w = this.#current.waivers.find((x) => x.rule === f.rule && x.reason !== '');
      if (w) {
        w.used = true;
        finding.waived = w.reason;
      }
    }
    this.#findings.push(finding);
  }

  #pushAt(migration: string, line: number, f: { rule: LintRuleId; object: string; message: string }): void {
    this.#push({ ...f, migration, line });
  }

  #applyFileWaivers(): LintFinding[] {
    return applyWaivers(this.#findings, this.#input.waivers ?? []);
  }
}

/**
 * The shape of a standard tenant policy (permissive, `FOR ALL`, `USING` and
 * `WITH CHECK` on `tenant_id`, comparing with `app.tenant_id`, the verified
 * tenant or the row tag), or `undefined` for any other policy. `text` is what
 * follows `create policy <name> on <table>` in normalized SQL.
 */
function standardPolicy(text: string): TenantPolicyShape | undefined {
  if (/\bfor (select|insert|update|delete)\b/.test(text) || /\bas restrictive\b/.test(text)) return undefined;
  const u = /\busing \(/.exec(text);
  if (!u) return undefined;
  const using = balanced(text, u.index + u[0].length - 1);
  const c = /\bwith check \(/.exec(text.slice(using.end));
  if (!c) return undefined;
  const check = balanced(text, using.end + c.index + c[0].length - 1).inner;
  const source = new RegExp(`stellaops_security\\.current_tenant \\(|current_setting \\('app\\.tenant_id'|${SESSION_TAG_PATTERN}`, 'i');
  if (!/\btenant_id\b/.test(using.inner) || !/\btenant_id\b/.test(check) || !source.test(`${using.inner} ${check}`)) return undefined;
  return classifyTenantPolicy(using.inner, check);
}

/**
 * Marks findings waived by a module's waiver file; a waiver that matches nothing
 * or has no reason becomes a finding itself.
 *
 * @example
 * applyWaivers(findings, [{ migration: 'V002_X', rule: 'index-concurrently', object: 'x_tenant_a_idx', reason: 'table is empty in every environment' }]);
 */
export function applyWaivers(findings: LintFinding[], waivers: readonly LintWaiver[]): LintFinding[] {
  const out = findings.map((f) => ({ ...f }));
  for (const w of waivers) {
    const where = `lint-waivers.json (${w.migration} ${w.rule}${w.object ? ` ${w.object}` : ''})`;
    if (!isLintRuleId(w.rule)) {
      out.push({
        rule: 'waiver-reason',
        severity: 'error',
        migration: w.migration,
        line: 0,
        object: where,
        message: `waiver in ${where} names an unknown rule "${w.rule}": use a rule id from docs/RULES.md`,
      });
      continue;
    }
    if (typeof w.reason !== 'string' || w.reason.trim() === '') {
      out.push({
        rule: 'waiver-reason',
        severity: 'error',
        migration: w.migration,
        line: 0,
        object: where,
        message: `waiver in ${where} has no reason: add "reason": "<why this is intended>"`,
      });
      continue;
    }
    const matches = out.filter(
      (f) =>
        f.waived === undefined && f.migration === w.migration && f.rule === w.rule && (w.object === undefined || f.object === w.object),
    );
    for (const f of matches) f.waived = w.reason.trim();
    if (matches.length === 0)
      out.push({
        rule: 'waiver-unused',
        severity: 'warning',
        migration: w.migration,
        line: 0,
        object: where,
        message: `waiver in ${where} matches no finding: remove it`,
      });
  }
  return out;
}
