import { describe, expect, it } from 'vitest';
import { classifyStatement } from '../src/data-source/statement-classifier.js';
import { lexSql } from '../src/sql/sql-lexer.js';

const values = (sql: string) => lexSql(sql).tokens.map((t) => `${t.kind}:${t.value}`);

describe('lexSql', () => {
  it('keeps comment markers inside strings as string content', () => {
    expect(values(`select '--', set_config('x', 'y', true)`)).toEqual([
      'word:select',
      'string:--',
      'op:,',
      'word:set_config',
      'op:(',
      'string:x',
      'op:,',
      'string:y',
      'op:,',
      'word:true',
      'op:)',
    ]);
    expect(values(`select '/*' , 1 -- '\n, 2`)).toEqual(['word:select', 'string:/*', 'op:,', 'number:1', 'op:,', 'number:2']);
  });

  it("handles doubled quotes, E'' escapes and adjacent literals", () => {
    expect(values(`select 'it''s', E'a\\'b\\x41\\n', E'\\u0041'`)).toEqual([
      'word:select',
      "string:it's",
      'op:,',
      "string:a'bA\n",
      'op:,',
      'string:A',
    ]);
    expect(values(`select 'a'\n  'b'`)).toEqual(['word:select', 'string:ab']);
    // a backslash is NOT an escape in a standard string
    expect(values(`select 'a\\', 1`)).toEqual(['word:select', 'string:a\\', 'op:,', 'number:1']);
  });

  it('decodes U& strings and identifiers, with UESCAPE', () => {
    expect(values(`select U&'app.tenant\\005fid', u&"set\\005Fconfig"`)).toEqual([
      'word:select',
      'string:app.tenant_id',
      'op:,',
      'ident:set_config',
    ]);
    expect(values(`select U&"set!005fconfig" UESCAPE '!' (1)`)).toEqual(['word:select', 'ident:set_config', 'op:(', 'number:1', 'op:)']);
    expect(values(`select U&'\\+01F600 \\\\'`)).toEqual(['word:select', 'string:😀 \\']);
  });

  it('reads dollar quotes, parameters, nested comments, quoted identifiers', () => {
    expect(values(`select $$a';$$, $tag$ $$ $tag$, $1, "We""ird"`)).toEqual([
      'word:select',
      "string:a';",
      'op:,',
      'string: $$ ',
      'op:,',
      'param:$1',
      'op:,',
      'ident:We"ird',
    ]);
    expect(values(`/* a /* b */ still comment */ SELECT 1`)).toEqual(['word:select', 'number:1']);
    expect(lexSql(`select 'open`).unterminated).toBe(true);
    expect(lexSql(`select 1 /* open`).unterminated).toBe(true);
  });
});

describe('classifyStatement', () => {
  it.each([
    'select "id", "tenant_id" from "items" where "id" = $1',
    'insert into "items" ("id", "tenant_id", "name") values ($1, $2, $3) returning "id"',
    'insert into "s"."items" ("id") values ($1) on conflict ("id") do update set "name" = excluded."name"',
    'update "items" set "qty" = "qty" + $1 where "id" = $2',
    'delete from "items" where "id" in ($1, $2)',
    'with "x" as (select count(*) as n from "items") select coalesce(max("n"), 0) from "x"',
    'select json_agg(row_to_json(t)) from (select * from "items") as t',
    'select pg_catalog.count(*) from items',
    "select current_setting('app.tenant_id', true)",
    "select 'set_config(''app.tenant_id'', ''b'', true)' as harmless",
  ])('trusts %s', (sql) => {
    expect(classifyStatement(sql)).toMatchObject({ trusted: true, tenantWrite: false, transactionControl: false, multiStatement: false });
  });

  it.each([
    "select set_config('statement_timeout', '1', false)",
    'set statement_timeout = 1',
    'declare c cursor with hold for select 1',
    'listen x',
    'select pg_advisory_lock(1)',
    'prepare x as select 1',
    'deallocate all',
    'discard all',
    'select * into temp t from items',
    "select query_to_xml('select 1', true, true, '')",
    'select my_schema.some_function(1)',
    'select "set_config"(1)',
    'select 1 operator(pg_catalog.+) 2',
    'do $$ begin end $$',
    'call p()',
    'copy items to stdout',
  ])('does not trust %s', (sql) => {
    expect(classifyStatement(sql).trusted).toBe(false);
  });

  it.each([
    'begin',
    'BEGIN ISOLATION LEVEL SERIALIZABLE',
    '/* x */ start transaction',
    'commit',
    'end',
    'rollback',
    'abort',
    'savepoint a',
    'release a',
    "prepare transaction 'x'",
    "commit prepared 'x'",
  ])('sees transaction control in %s', (sql) => {
    expect(classifyStatement(sql).transactionControl).toBe(true);
  });

  it('sees several statements, but not a trailing semicolon or one inside a literal', () => {
    expect(classifyStatement('select 1; select 2').multiStatement).toBe(true);
    expect(classifyStatement('select 1;').multiStatement).toBe(false);
    expect(classifyStatement("select ';' as x").multiStatement).toBe(false);
    expect(classifyStatement('select 1; begin').transactionControl).toBe(true);
  });
});

describe('case folding', () => {
  it('folds ASCII letters only, like the server', () => {
    expect(values('SELECT Set_Config')).toEqual(['word:select', 'word:set_config']);
    expect(values('select pg_advisory_loc\u212A')).toEqual(['word:select', 'word:pg_advisory_loc\u212A']);
  });
});
