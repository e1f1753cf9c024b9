import { lexSql, type SqlToken } from '../sql/sql-lexer.js';

/**
 * What the driver needs to know about a statement before sending it.
 *
 * - `tenantWrite`: sets `app.tenant_id` itself (`SET`/`RESET app.tenant_id`,
 *   or a `set_config` whose name is `app.tenant_id` or not a plain literal);
 * - `transactionControl`: `BEGIN`, `START`, `COMMIT`, `END`, `ROLLBACK`,
 *   `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION` (the driver owns
 *   transaction boundaries);
 * - `multiStatement`: more than one statement in the text;
 * - `trusted`: one plain `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`WITH`/`VALUES`
 *   that calls only functions from {@link TRUSTED_FUNCTIONS} (no `SELECT … INTO`,
 *   no qualified call outside `pg_catalog`): such a statement cannot leave
 *   session state on the connection, so a unit made only of trusted statements
 *   needs no cleanup. Anything else is untrusted (and costs a cleanup).
 *
 * @internal
 */
export interface StatementVerdict {
  readonly tenantWrite: boolean;
  readonly transactionControl: boolean;
  readonly multiStatement: boolean;
  readonly trusted: boolean;
}

const DML = new Set(['select', 'insert', 'update', 'delete', 'with', 'values', 'table']);
const TRANSACTION_CONTROL = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort', 'savepoint', 'release']);

/** Keywords that may be followed by `(` without being a function call. */
const PAREN_KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'exists',
  'any',
  'some',
  'all',
  'values',
  'as',
  'on',
  'using',
  'join',
  'lateral',
  'cast',
  'coalesce',
  'nullif',
  'greatest',
  'least',
  'over',
  'filter',
  'within',
  'row',
  'array',
  'is',
  'distinct',
  'case',
  'when',
  'then',
  'else',
  'between',
  'like',
  'ilike',
  'set',
  'union',
  'intersect',
  'except',
  'limit',
  'offset',
  'by',
  'group',
  'having',
  'conflict',
  'returning',
  'materialized',
  'extract',
  'position',
  'substring',
  'trim',
  'overlay',
  'interval',
  'numeric',
  'decimal',
  'varchar',
  'char',
  'character',
  'timestamp',
  'timestamptz',
  'time',
  'bit',
  'float',
  'with',
  'recursive',
  'do',
  'update',
  'partition',
  'order',
  'rows',
  'range',
  'groups',
  'preceding',
  'following',
  'unnest',
  'to',
  'into',
  'for',
  'of',
  'similar',
  'escape',
  'asc',
  'desc',
  'nulls',
  'first',
  'last',
  'fetch',
  'only',
  'next',
  'insert',
  'delete',
  'default',
  'xmlattributes',
]);

/**
 * Functions a trusted statement may call: pure functions and aggregates that
 * cannot run SQL, change settings, take session locks or open cursors.
 */
export const TRUSTED_FUNCTIONS: ReadonlySet<string> = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'bool_and',
  'bool_or',
  'every',
  'array_agg',
  'string_agg',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
  'ntile',
  'lag',
  'lead',
  'first_value',
  'last_value',
  'nth_value',
  'percentile_cont',
  'percentile_disc',
  'mode',
  'now',
  'current_date',
  'statement_timestamp',
  'transaction_timestamp',
  'clock_timestamp',
  'date_trunc',
  'date_part',
  'age',
  'make_interval',
  'make_date',
  'make_timestamp',
  'make_timestamptz',
  'to_timestamp',
  'to_char',
  'to_date',
  'to_number',
  'lower',
  'upper',
  'length',
  'char_length',
  'octet_length',
  'concat',
  'concat_ws',
  'btrim',
  'ltrim',
  'rtrim',
  'replace',
  'split_part',
  'strpos',
  'left',
  'right',
  'lpad',
  'rpad',
  'repeat',
  'reverse',
  'starts_with',
  'regexp_replace',
  'regexp_match',
  'regexp_matches',
  'regexp_split_to_array',
  'initcap',
  'md5',
  'encode',
  'decode',
  'format',
  'quote_ident',
  'quote_literal',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'mod',
  'power',
  'sqrt',
  'random',
  'sign',
  'width_bucket',
  'gen_random_uuid',
  'uuid_generate_v4',
  'nextval',
  'currval',
  'lastval',
  'to_json',
  'to_jsonb',
  'json_build_object',
  'jsonb_build_object',
  'json_build_array',
  'jsonb_build_array',
  'jsonb_set',
  'jsonb_insert',
  'jsonb_strip_nulls',
  'jsonb_array_length',
  'json_array_length',
  'jsonb_array_elements',
  'json_array_elements',
  'jsonb_array_elements_text',
  'json_array_elements_text',
  'jsonb_each',
  'jsonb_each_text',
  'jsonb_object_keys',
  'jsonb_typeof',
  'jsonb_path_query',
  'jsonb_path_exists',
  'jsonb_extract_path',
  'jsonb_extract_path_text',
  'row_to_json',
  'array_to_json',
  'array_length',
  'cardinality',
  'array_position',
  'array_remove',
  'array_append',
  'array_prepend',
  'array_cat',
  'array_to_string',
  'string_to_array',
  'generate_series',
  'generate_subscripts',
  'current_setting',
  'pg_advisory_xact_lock',
  'pg_try_advisory_xact_lock',
  'txid_current',
  'txid_current_if_assigned',
  'pg_current_xact_id',
  'pg_backend_pid',
  'to_tsvector',
  'to_tsquery',
  'plainto_tsquery',
  'websearch_to_tsquery',
  'ts_rank',
  'similarity',
  'word_similarity',
  'digest',
  'hmac',
  'crypt',
  'gen_salt',
  'int4range',
  'int8range',
  'numrange',
  'tstzrange',
  'daterange',
  'lower_inc',
  'upper_inc',
  'isempty',
  'host',
  'inet',
  'family',
  'masklen',
  'num_nulls',
  'num_nonnulls',
]);

const VERDICTS = new Map<string, StatementVerdict>();
const MAX_CACHED = 4096;

/**
 * Classifies `sql` (cached by text: Kysely reuses texts, so this is a map lookup
 * after the first call).
 *
 * @example
 * ```ts
 * classifyStatement('select "id" from "items" where "id" = $1').trusted; // true
 * classifyStatement("set statement_timeout = 1").trusted;                // false
 * ```
 * @internal
 */
export function classifyStatement(sql: string): StatementVerdict {
  let v = VERDICTS.get(sql);
  if (v) return v;
  v = analyze(sql);
  if (VERDICTS.size >= MAX_CACHED) VERDICTS.clear();
  VERDICTS.set(sql, v);
  return v;
}

const isName = (t: SqlToken | undefined): t is SqlToken => t !== undefined && (t.kind === 'word' || t.kind === 'ident');
const isOp = (t: SqlToken | undefined, v: string): boolean => t !== undefined && t.kind === 'op' && t.value === v;

function analyze(sql: string): StatementVerdict {
  const { tokens, unterminated } = lexSql(sql);
  // statements: split on top-level ';'
  let statements = 0;
  let current = 0;
  for (const t of tokens) {
    if (isOp(t, ';')) {
      if (current > 0) statements++;
      current = 0;
    } else current++;
  }
  if (current > 0) statements++;
  const first = tokens.find((t) => !isOp(t, ';') && !isOp(t, '('));
  const firstWord = first?.kind === 'word' ? first.value : '';
  const tenantWrite = hasTenantWrite(tokens);
  const transactionControl = tokens.some(
    (t, i) =>
      t.kind === 'word' &&
      (i === 0 || isOp(tokens[i - 1], ';')) &&
      (TRANSACTION_CONTROL.has(t.value) ||
        (t.value === 'prepare' && tokens[i + 1]?.kind === 'word' && tokens[i + 1]!.value === 'transaction')),
  );
  const multiStatement = statements > 1;
  const trusted = !unterminated && !multiStatement && !tenantWrite && DML.has(firstWord) && onlyTrustedCalls(tokens);
  return { tenantWrite, transactionControl, multiStatement, trusted };
}

/** `name(` sequences: every call must be to an allow-listed function; `SELECT … INTO` creates a table. */
function onlyTrustedCalls(tokens: readonly SqlToken[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'word' && t.value === 'into') {
      const prev = tokens[i - 1];
      if (!(prev?.kind === 'word' && (prev.value === 'insert' || prev.value === 'merge'))) return false;
    }
    if (!isOp(tokens[i + 1], '(') || !isName(t)) continue;
    const qualified = isOp(tokens[i - 1], '.');
    if (qualified) {
      const schema = tokens[i - 2];
      // schema.table ( column list ) after INTO
      if (isName(schema) && tokens[i - 3]?.kind === 'word' && tokens[i - 3]!.value === 'into') continue;
      if (!(schema?.kind === 'word' && schema.value === 'pg_catalog' && TRUSTED_FUNCTIONS.has(t.value))) return false;
      continue;
    }
    const prev = tokens[i - 1];
    // table ( column list ) after INTO; CTE name ( columns ) after WITH / ','
    if (prev?.kind === 'word' && prev.value === 'into') continue;
    if (t.kind === 'word' && (PAREN_KEYWORDS.has(t.value) || TRUSTED_FUNCTIONS.has(t.value))) continue;
    return false;
  }
  return true;
}

function nameAt(tokens: readonly SqlToken[], i: number): string | undefined {
  const t = tokens[i];
  // conservative for the guard: quoted names are compared case-insensitively too (GUC names are)
  return isName(t) ? t.value.toLowerCase() : undefined;
}

/** `SET`/`RESET … app.tenant_id`, or `set_config(<not a literal other than app.tenant_id>, …)`. */
function hasTenantWrite(tokens: readonly SqlToken[]): boolean {
  const hasSet = tokens.some((t) => t.kind === 'word' && (t.value === 'set' || t.value === 'reset'));
  for (let i = 0; i < tokens.length; i++) {
    if (hasSet && nameAt(tokens, i) === 'app' && isOp(tokens[i + 1], '.') && nameAt(tokens, i + 2) === 'tenant_id') return true;
    if (nameAt(tokens, i) === 'set_config' && isOp(tokens[i + 1], '(')) {
      // the first argument: everything up to the first top-level ',' or ')'
      const arg: SqlToken[] = [];
      let depth = 0;
      for (let j = i + 2; j < tokens.length; j++) {
        const t = tokens[j]!;
        if (depth === 0 && (isOp(t, ',') || isOp(t, ')'))) break;
        if (isOp(t, '(')) depth++;
        if (isOp(t, ')')) depth--;
        arg.push(t);
      }
      const literal = arg.length === 1 && arg[0]!.kind === 'string' ? arg[0]!.value.trim().toLowerCase() : undefined;
      if (literal === undefined || literal === 'app.tenant_id') return true;
    }
  }
  return false;
}
