/**
 * A readable description from a migration id: `V001_CreateAuthoritySchema` →
 * `Create authority schema`, `V001__create_schema` → `create schema`.
 */
export function describeMigrationId(id: string): string {
  const rest = id.replace(/^[Vv]?\d+(?:[._-]\d+)*(?:__?|-|\.)?/, '');
  if (rest.length === 0) return id;
  const words = rest
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[_\s-]+/)
    .filter((w) => w.length > 0);
  if (words.length === 0) return id;
  const sentence = words.map((w, i) => (i === 0 ? w : /^[A-Z][a-z]/.test(w) ? w.toLowerCase() : w)).join(' ');
  return sentence;
}
