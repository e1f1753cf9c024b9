import { UsageError } from '../../usage-error.js';

/** The rule a module name follows, as printed when a name breaks it. */
export const MODULE_NAME_RULE = 'a lowercase letter, then lowercase letters and digits ([a-z][a-z0-9]*), at most 30 characters';

/** Longest module name: leaves room for `<table>_tenant_isolation`/`<table>_tenant_tag_rotate`-style identifiers (63 bytes) and role names. */
export const MODULE_NAME_MAX_LENGTH = 30;

/**
 * Names a module may not take: the workspace's own packages and words with a
 * meaning of their own, and PostgreSQL's reserved key words and built-in
 * schemas (the module name is also its schema name, written unquoted in SQL).
 */
export const RESERVED_MODULE_NAMES: ReadonlySet<string> = new Set([
  // workspace packages and words the CLI or the database already use
  'cli',
  'core',
  'postgres',
  'postgrescore',
  'migrator',
  'testkit',
  'moduletestkit',
  'fixture',
  'testfixture',
  'embeddedserver',
  'tooling',
  'module',
  'modules',
  'new',
  'app',
  'owner',
  'worker',
  'stellaops',
  'source',
  'generated',
  'shared',
  'common',
  'test',
  'tests',
  'public',
  'pg',
  'information',
  'security',
  // PostgreSQL reserved key words (appendix C, "reserved" in PostgreSQL)
  'all',
  'analyse',
  'analyze',
  'and',
  'any',
  'array',
  'as',
  'asc',
  'asymmetric',
  'both',
  'case',
  'cast',
  'check',
  'collate',
  'column',
  'constraint',
  'create',
  'current',
  'default',
  'deferrable',
  'desc',
  'distinct',
  'do',
  'else',
  'end',
  'except',
  'false',
  'fetch',
  'for',
  'foreign',
  'from',
  'grant',
  'group',
  'having',
  'in',
  'initially',
  'intersect',
  'into',
  'lateral',
  'leading',
  'limit',
  'localtime',
  'localtimestamp',
  'not',
  'null',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'placing',
  'primary',
  'references',
  'returning',
  'select',
  'some',
  'symmetric',
  'table',
  'then',
  'to',
  'trailing',
  'true',
  'union',
  'unique',
  'user',
  'using',
  'variadic',
  'when',
  'where',
  'window',
  'with',
  'authorization',
  'binary',
  'collation',
  'concurrently',
  'cross',
  'freeze',
  'full',
  'ilike',
  'inner',
  'is',
  'isnull',
  'join',
  'left',
  'like',
  'natural',
  'notnull',
  'outer',
  'overlaps',
  'right',
  'similar',
  'tablesample',
  'verbose',
]);

/**
 * Checks a new module's name and returns it; a bad name throws a
 * {@link UsageError} that states the rule.
 *
 * @param existing names of the modules that exist already (packages or PersistenceOptions entries), any case
 * @example
 * validateModuleName('scheduler', ['authority', 'notify']); // 'scheduler'
 * validateModuleName('Sched-1', []); // throws: module name "Sched-1" is invalid: use a lowercase letter, then …
 */
export function validateModuleName(name: string, existing: readonly string[]): string {
  if (!/^[a-z][a-z0-9]*$/.test(name) || name.length > MODULE_NAME_MAX_LENGTH) {
    throw new UsageError(`module name "${name}" is invalid: use ${MODULE_NAME_RULE} (e.g. "scheduler")`);
  }
  if (RESERVED_MODULE_NAMES.has(name)) {
    throw new UsageError(
      `module name "${name}" is reserved (a workspace package, a CLI word or a PostgreSQL key word): choose another; the rule is ${MODULE_NAME_RULE}`,
    );
  }
  if (existing.some((e) => e.toLowerCase() === name)) {
    throw new UsageError(
      `module "${name}" exists already (packages/modules/${name}): choose another name, or add a migration to that module instead`,
    );
  }
  return name;
}

/** The rule a first table's name follows. */
export const TABLE_NAME_RULE =
  'a lowercase letter, then lowercase letters, digits or "_" ([a-z][a-z0-9_]*), at most 30 characters, plural (e.g. "schedules")';

/**
 * Checks the name of the module's first table (`--table`).
 *
 * @example
 * validateTableName('schedules'); // 'schedules'
 */
export function validateTableName(table: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(table) || table.length > 30 || RESERVED_MODULE_NAMES.has(table) || table.endsWith('_')) {
    throw new UsageError(`table name "${table}" is invalid: use ${TABLE_NAME_RULE}, not a PostgreSQL key word`);
  }
  return table;
}
