/**
 * Normalizes one SQL statement for rule matching: comments removed, dollar-quoted
 * bodies replaced by `$$…$$`, whitespace collapsed, words outside quotes
 * lower-cased, double-quoted identifiers unquoted (case kept, so `"Users"`
 * stays visible to the naming rule). String literals are kept as written.
 *
 * @example
 * normalizeStatement('CREATE TABLE "a"."B" (x int) -- c'); // 'create table a.B (x int)'
 */
export function normalizeStatement(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      while (i < n && text[i] !== '\n') i++;
      out += ' ';
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      out += ' ';
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      while (j < n) {
        if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") break;
        else j++;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let ident = '';
      while (j < n) {
        if (text[j] === '"' && text[j + 1] === '"') {
          ident += '"';
          j += 2;
        } else if (text[j] === '"') break;
        else ident += text[j++];
      }
      out += ident;
      i = j + 1;
      continue;
    }
    if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        out += '$$…$$';
        i = end < 0 ? n : end + tag[0].length;
        continue;
      }
    }
    out += /\s/.test(c) ? ' ' : c.toLowerCase();
    i++;
  }
  return out
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .replace(/,/g, ', ')
    .replace(/\(/g, ' (')
    .replace(/\s+/g, ' ')
    .trim();
}

/** An identifier, possibly schema-qualified (normalized text, no quotes). */
export const IDENT = '[A-Za-z_][A-Za-z0-9_$]*';
/** A possibly qualified name; group 1 is the whole name. */
export const QNAME = `(${IDENT}(?:\\.${IDENT})?)`;

/**
 * Splits text on top-level commas (not inside parentheses or quotes).
 *
 * @example
 * splitTopLevel('a int, b numeric(10, 2)'); // ['a int', 'b numeric(10, 2)']
 */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/**
 * The text inside the parentheses that open at `open` (an index of `(`), and the index after the closing one.
 *
 * @example
 * balanced('f (a, (b)) x', 2); // { inner: 'a, (b)', end: 10 }
 */
export function balanced(text: string, open: number): { inner: string; end: number } {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return { inner: text.slice(open + 1, i), end: i + 1 };
  }
  return { inner: text.slice(open + 1), end: text.length };
}

/** Splits `schema.name` (schema undefined when unqualified). */
export function splitQualified(name: string): { schema: string | undefined; name: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: undefined, name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** 1-based line of `offset` in `text`. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}
