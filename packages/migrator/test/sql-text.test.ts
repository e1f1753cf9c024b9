import { describe, expect, it } from 'vitest';
import { readSqlDirectives } from '../src/sql-text/directives.js';
import { isTransactionControl, lineAndColumn, splitSqlStatements } from '../src/sql-text/split-statements.js';

describe('splitSqlStatements', () => {
  it('splits on top-level semicolons only', () => {
    const script = [
      '-- a comment; with semicolon',
      "create table a (x text default 'a;b''c');",
      "/* block; /* nested; */ still; */ insert into \"we;ird\" values (E'x\\';y');",
      'create function f() returns int language sql as $body$ select 1; $body$;',
      'do $$ begin perform 1; end $$',
      ';;',
    ].join('\n');
    const st = splitSqlStatements(script);
    expect(st.map((s) => s.text)).toEqual([
      "create table a (x text default 'a;b''c')",
      "insert into \"we;ird\" values (E'x\\';y')",
      'create function f() returns int language sql as $body$ select 1; $body$',
      'do $$ begin perform 1; end $$',
    ]);
    expect(script.slice(st[0]!.start, st[0]!.end)).toBe(st[0]!.text);
  });

  it('keeps SQL-standard function bodies (BEGIN ATOMIC … END, CASE … END inside) whole, like psql', () => {
    const script = [
      'create function f(x int) returns int language sql',
      'begin atomic',
      '  select case when x > 0 then 1 else 0 end;',
      '  select 2;',
      'end;',
      'begin;',
      "select case when true then 'a;b' end;",
      'commit;',
    ].join('\n');
    const st = splitSqlStatements(script).map((s) => s.text.split('\n')[0]);
    expect(st).toEqual(['create function f(x int) returns int language sql', 'begin', "select case when true then 'a;b' end", 'commit']);
    expect(splitSqlStatements(script)[0]?.text.endsWith('end')).toBe(true);
  });

  it('returns nothing for comments only', () => {
    expect(splitSqlStatements('-- x\n/* y */\n')).toEqual([]);
  });

  it('locates offsets as line and column', () => {
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });

  it('flags transaction control but not savepoint rollback or begin atomic', () => {
    expect(isTransactionControl('BEGIN')).toBe(true);
    expect(isTransactionControl('commit')).toBe(true);
    expect(isTransactionControl('start transaction isolation level serializable')).toBe(true);
    expect(isTransactionControl('rollback to savepoint a')).toBe(false);
    expect(isTransactionControl('begin atomic select 1; end')).toBe(false);
    expect(isTransactionControl('create table begin_x (id int)')).toBe(false);
  });
});

describe('readSqlDirectives', () => {
  it('reads leading stella: comments only', () => {
    expect(
      readSqlDirectives(
        '-- stella:no-transaction\n-- stella:lock-timeout 0\n-- stella:description Build index\ncreate index concurrently x on y(z);',
      ),
    ).toEqual({
      noTransaction: true,
      description: 'Build index',
      lockTimeoutMs: 0,
    });
    expect(readSqlDirectives('select 1;\n-- stella:no-transaction')).toEqual({
      noTransaction: false,
      description: undefined,
      lockTimeoutMs: undefined,
    });
  });
});
