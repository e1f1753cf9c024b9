/** One SQL statement found in a script, with its offsets in the script. */
export interface SqlStatement {
  /** Statement text, without the terminating semicolon. */
  text: string;
  /** Offset of the statement's first significant character in the script. */
  start: number;
  /** Offset just past the statement (its semicolon excluded). */
  end: number;
}

/**
 * Splits a PostgreSQL script into statements on top-level semicolons,
 * honouring single-quoted and E'' strings, quoted identifiers, dollar quotes,
 * line comments, nested block comments, and SQL-standard function bodies
 * (`BEGIN ATOMIC … END`, with `CASE … END` inside) the way psql does.
 * Statements that are only whitespace or comments are dropped.
 */
export function splitSqlStatements(script: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let i = 0;
  let stmtStart = 0;
  let significantStart = -1;
  // psql's rule: BEGIN or CASE that is not the statement's first word opens a
  // block (BEGIN ATOMIC bodies, CASE expressions), END closes one; semicolons
  // inside a block do not end the statement.
  let words = 0;
  let depth = 0;
  const n = script.length;
  const push = (end: number) => {
    if (significantStart >= 0) {
      out.push({ text: script.slice(significantStart, end).trimEnd(), start: significantStart, end });
    }
    significantStart = -1;
    words = 0;
    depth = 0;
  };
  while (i < n) {
    const c = script[i] as string;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const nl = script.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let nest = 1;
      i += 2;
      while (i < n && nest > 0) {
        if (script[i] === '/' && script[i + 1] === '*') {
          nest++;
          i += 2;
        } else if (script[i] === '*' && script[i + 1] === '/') {
          nest--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === ';' && depth === 0) {
      push(i);
      i++;
      stmtStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (significantStart < 0) significantStart = i;
    if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$\u0080-\uffff]/.test(script[j] as string)) j++;
      // A word right before a quote is a string prefix (E'…'): the quote branch handles the string.
      if (script[j] !== "'") {
        const word = script.slice(i, j).toLowerCase();
        words++;
        if ((word === 'begin' || word === 'case') && words > 1) depth++;
        else if (word === 'end' && depth > 0) depth--;
      }
      i = j;
      continue;
    }
    if (c === "'") {
      const escapes = i > stmtStart && /[eE]/.test(script[i - 1] ?? '') && !/[\w$]/.test(script[i - 2] ?? '');
      i = skipQuoted(script, i, "'", escapes);
      continue;
    }
    if (c === '"') {
      i = skipQuoted(script, i, '"', false);
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(script.slice(i, i + 64));
      if (m && !/[\w$]/.test(script[i - 1] ?? '')) {
        const tag = m[0];
        const close = script.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
        continue;
      }
    }
    i++;
  }
  push(n);
  return out;
}

function skipQuoted(s: string, i: number, q: string, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (backslashEscapes && c === '\\') {
      j += 2;
      continue;
    }
    if (c === q) {
      if (s[j + 1] === q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return s.length;
}

const TX_CONTROL = /^(begin|start\s+transaction|commit|end|rollback|abort)\b/i;

/**
 * Whether a statement controls the transaction (`BEGIN`, `COMMIT`,
 * `ROLLBACK`…). Migrations must not: the runner owns the transaction.
 * `ROLLBACK TO SAVEPOINT` and `BEGIN ATOMIC` bodies are not flagged.
 */
export function isTransactionControl(statement: string): boolean {
  const s = statement.trim();
  if (/^rollback\s+to\b/i.test(s) || /^begin\s+atomic\b/i.test(s)) return false;
  return TX_CONTROL.test(s);
}

/** 1-based line and column of a 0-based offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNl = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNl = i;
    }
  }
  return { line, column: offset - lastNl };
}
