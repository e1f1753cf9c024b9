/**
 * Normalizes source text before hashing so that checksums ignore what does
 * not change meaning across editors and platforms: a BOM, CRLF/CR line
 * endings, trailing whitespace on lines, and leading/trailing blank lines.
 */
export function normalizeSource(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/^\n+/, '')
    .replace(/\n+$/, '');
}
