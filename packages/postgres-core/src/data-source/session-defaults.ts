import type { PostgresOptions } from '../options/postgres-options.js';

/** One server setting: `[name, value]`. */
export type SessionSetting = readonly [name: string, value: string];

/**
 * The settings every unit of a data source runs with, in the one place they
 * are listed: `TimeZone=UTC`, `statement_timeout` (the command timeout, in
 * milliseconds) and, when the options name a schema, `search_path=<schema>,public`.
 *
 * How they reach the server depends on the pooler mode: in direct mode they are
 * startup options of each connection ({@link startupOptions}, used by
 * `buildPoolConfig`); behind a transaction pooler they are made
 * transaction-local in the tenant prelude of every unit (the data source's
 * session scope).
 *
 * @example
 * ```ts
 * sessionDefaults({ commandTimeoutSeconds: 5, schema: 'notify' });
 * // [['TimeZone', 'UTC'], ['statement_timeout', '5000'], ['search_path', 'notify,public']]
 * ```
 * @internal
 */
export function sessionDefaults(options: Pick<PostgresOptions, 'commandTimeoutSeconds' | 'schema'>): readonly SessionSetting[] {
  const settings: SessionSetting[] = [
    ['TimeZone', 'UTC'],
    ['statement_timeout', String(options.commandTimeoutSeconds * 1000)],
  ];
  if (options.schema) settings.push(['search_path', `${options.schema},public`]);
  return settings;
}

/**
 * Formats settings as the `options` startup parameter: `-c name=value` pairs
 * separated by spaces. The server splits that string on white space unless it
 * is escaped with a backslash, and reads `\\` as one backslash (libpq's
 * `options`), so both are escaped in names and values.
 *
 * @example
 * ```ts
 * startupOptions([['TimeZone', 'UTC'], ['application_name', 'a b']]); // '-c TimeZone=UTC -c application_name=a\\ b'
 * ```
 * @internal
 */
export function startupOptions(settings: readonly SessionSetting[]): string {
  return settings.map(([name, value]) => `-c ${escapeStartupOption(name)}=${escapeStartupOption(value)}`).join(' ');
}

/** Backslash before every backslash and white space character (C `isspace`), as the server's option splitter expects. */
function escapeStartupOption(text: string): string {
  return text.replace(/[\\ \t\n\v\f\r]/g, '\\$&');
}
