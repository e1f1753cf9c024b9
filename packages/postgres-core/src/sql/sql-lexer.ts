/**
 * A small lexer for PostgreSQL SQL text, enough to know what a statement is made
 * of without being fooled by its spelling: string literals (`'…'` with `''`,
 * `E'…'` with backslash escapes, `U&'…'` with `UESCAPE`, `$tag$…$tag$`),
 * identifiers (plain, `"quoted"`, `U&"…"` with `UESCAPE`), nested block comments,
 * line comments, `$n` parameters, numbers and operators.
 *
 * Identifier values are normalised like the server does: plain words are
 * lower-cased, quoted ones are kept, `U&` escapes are decoded.
 *
 * @internal
 */

/** One lexical token. */
export type SqlToken =
  | { readonly kind: 'word'; readonly value: string }
  | { readonly kind: 'ident'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'param'; readonly value: string }
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'op'; readonly value: string };

/** Result of {@link lexSql}: the tokens, and whether the text ended inside a literal or comment. */
export interface LexResult {
  readonly tokens: SqlToken[];
  /** True when a string, identifier or comment was not terminated (the server will refuse the text). */
  readonly unterminated: boolean;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OP_CHARS = '+-*/<>=~!@#%^&|`?';

/**
 * Splits `sql` into tokens; comments and whitespace are dropped.
 *
 * @example
 * ```ts
 * lexSql(`select '--', set_config('app.tenant_id','b',true)`).tokens.map((t) => t.value);
 * // ['select', '--', ',', 'set_config', '(', 'app.tenant_id', ',', 'b', ',', 'true', ')']
 * ```
 */
export function lexSql(sql: string): LexResult {
  const tokens: SqlToken[] = [];
  let unterminated = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) unterminated = true;
    } else if ((c === 'E' || c === 'e') && next === "'") {
      const r = readQuoted(sql, i + 1, "'", true);
      tokens.push({ kind: 'string', value: r.value });
      unterminated ||= r.unterminated;
      i = r.end;
    } else if ((c === 'U' || c === 'u') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      const quote = sql[i + 2]!;
      const r = readQuoted(sql, i + 2, quote, false);
      unterminated ||= r.unterminated;
      i = r.end;
      // optional UESCAPE 'x'
      let escape = '\\';
      const m = /^\s*uescape\s*'(.)'/i.exec(sql.slice(i));
      if (m) {
        escape = m[1]!;
        i += m[0].length;
      }
      const value = decodeUnicodeEscapes(r.value, escape);
      tokens.push(quote === "'" ? { kind: 'string', value } : { kind: 'ident', value });
    } else if ((c === 'B' || c === 'b' || c === 'X' || c === 'x' || c === 'N' || c === 'n') && next === "'") {
      const r = readQuoted(sql, i + 1, "'", false);
      tokens.push({ kind: 'string', value: r.value });
      unterminated ||= r.unterminated;
      i = r.end;
    } else if (c === "'") {
      const r = readQuoted(sql, i, "'", false);
      tokens.push({ kind: 'string', value: r.value });
      unterminated ||= r.unterminated;
      i = r.end;
    } else if (c === '"') {
      const r = readQuoted(sql, i, '"', false);
      tokens.push({ kind: 'ident', value: r.value });
      unterminated ||= r.unterminated;
      i = r.end;
    } else if (c === '$') {
      const param = /^\$\d+/.exec(sql.slice(i));
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      if (param) {
        tokens.push({ kind: 'param', value: param[0] });
        i += param[0].length;
      } else if (tag) {
        const start = i + tag[0].length;
        const end = sql.indexOf(tag[0], start);
        if (end < 0) {
          unterminated = true;
          tokens.push({ kind: 'string', value: sql.slice(start) });
          i = n;
        } else {
          tokens.push({ kind: 'string', value: sql.slice(start, end) });
          i = end + tag[0].length;
        }
      } else {
        tokens.push({ kind: 'op', value: '$' });
        i++;
      }
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      // like the server: only ASCII letters are folded (JS toLowerCase would also fold e.g. the Kelvin sign)
      tokens.push({ kind: 'word', value: sql.slice(i, j).replace(/[A-Z]+/g, (m) => m.toLowerCase()) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j]!)) j++;
      tokens.push({ kind: 'number', value: sql.slice(i, j) });
      i = j;
    } else if (OP_CHARS.includes(c)) {
      let j = i + 1;
      // an operator ends where a comment starts
      while (j < n && OP_CHARS.includes(sql[j]!) && !(sql[j] === '-' && sql[j + 1] === '-') && !(sql[j] === '/' && sql[j + 1] === '*')) j++;
      tokens.push({ kind: 'op', value: sql.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: 'op', value: c === ':' && next === ':' ? '::' : c });
      i += c === ':' && next === ':' ? 2 : 1;
    }
  }
  return { tokens, unterminated };
}

function readQuoted(sql: string, start: number, quote: string, backslash: boolean): { value: string; end: number; unterminated: boolean } {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslash && c === '\\' && i + 1 < sql.length) {
      value += decodeBackslash(sql, i);
      i += backslashLength(sql, i);
    } else if (c === quote) {
      if (sql[i + 1] === quote) {
        value += quote;
        i += 2;
      } else {
        // adjacent string literals separated by whitespace with a newline are one literal (SQL standard)
        if (quote === "'") {
          const cont = /^\s*\n\s*'/.exec(sql.slice(i + 1));
          if (cont) {
            i += 1 + cont[0].length;
            continue;
          }
        }
        return { value, end: i + 1, unterminated: false };
      }
    } else {
      value += c;
      i++;
    }
  }
  return { value, end: sql.length, unterminated: true };
}

function backslashLength(sql: string, i: number): number {
  const rest = sql.slice(i + 1);
  const m = /^(?:[0-7]{1,3}|x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})/.exec(rest);
  return 1 + (m ? m[0].length : 1);
}

function decodeBackslash(sql: string, i: number): string {
  const rest = sql.slice(i + 1);
  let m: RegExpExecArray | null;
  if ((m = /^[0-7]{1,3}/.exec(rest))) return String.fromCodePoint(parseInt(m[0], 8));
  if ((m = /^x([0-9A-Fa-f]{1,2})/.exec(rest))) return String.fromCodePoint(parseInt(m[1]!, 16));
  if ((m = /^u([0-9A-Fa-f]{4})/.exec(rest))) return String.fromCodePoint(parseInt(m[1]!, 16));
  if ((m = /^U([0-9A-Fa-f]{8})/.exec(rest))) return safeCodePoint(parseInt(m[1]!, 16));
  const c = rest[0]!;
  return ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c;
}

function safeCodePoint(cp: number): string {
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
}

/** Decodes `U&` escapes: `\XXXX`, `\+XXXXXX` and a doubled escape character. */
function decodeUnicodeEscapes(raw: string, escape: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== escape) {
      out += c;
      continue;
    }
    if (raw[i + 1] === escape) {
      out += escape;
      i++;
    } else if (raw[i + 1] === '+' && /^[0-9A-Fa-f]{6}$/.test(raw.slice(i + 2, i + 8))) {
      out += safeCodePoint(parseInt(raw.slice(i + 2, i + 8), 16));
      i += 7;
    } else if (/^[0-9A-Fa-f]{4}$/.test(raw.slice(i + 1, i + 5))) {
      out += safeCodePoint(parseInt(raw.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += c;
  }
  return out;
}
