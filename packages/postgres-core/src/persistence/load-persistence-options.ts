import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, type ConfigProblem } from '../errors/configuration-error.js';
import { zodProblems } from '../options/postgres-options.js';
import { PERSISTENCE_MODULES, PersistenceOptionsSchema, type PersistenceOptions } from './persistence-options.js';

/** Where {@link loadPersistenceOptions} reads configuration from. */
export interface LoadPersistenceOptionsArgs {
  /** Directory holding `appsettings.json` (default: `process.cwd()`). Set to `null` to read no file. */
  configDir?: string | null;
  /** Environment name for `appsettings.{Environment}.json` (default: `DOTNET_ENVIRONMENT`, then `ASPNETCORE_ENVIRONMENT`). */
  environment?: string;
  /** Environment variables (default: `process.env`). */
  env?: Record<string, string | undefined>;
  /** Only environment variables starting with this prefix are read, prefix removed (case-insensitive), e.g. `STELLAOPS_`. */
  envPrefix?: string;
  /** Extra highest-priority values (tests, CLI flags), same shape as the JSON file. */
  overrides?: Record<string, unknown>;
}

type Tree = { [key: string]: Tree | string | number | boolean | null | unknown[] };

/** Canonical key spelling for each lower-cased configuration key, by section. */
const CANONICAL: Record<string, string> = {
  persistence: 'persistence',
  postgres: 'postgres',
  ...Object.fromEntries(PERSISTENCE_MODULES.map((m) => [m.toLowerCase(), m])),
  connectionstring: 'connectionString',
  commandtimeoutseconds: 'commandTimeoutSeconds',
  connectiontimeoutseconds: 'connectionTimeoutSeconds',
  pool: 'pool',
  max: 'max',
  min: 'min',
  idletimeoutseconds: 'idleTimeoutSeconds',
  maxlifetimeseconds: 'maxLifetimeSeconds',
  tls: 'tls',
  mode: 'mode',
  ca: 'ca',
  cafile: 'caFile',
  cert: 'cert',
  certfile: 'certFile',
  key: 'key',
  keyfile: 'keyFile',
  applicationname: 'applicationName',
  schema: 'schema',
  poolermode: 'poolerMode',
  maxautoprepare: 'maxAutoPrepare',
  tenantkey: 'tenantKey',
  tenantkeyid: 'tenantKeyId',
  previoustenantkey: 'previousTenantKey',
  previoustenantkeyid: 'previousTenantKeyId',
};

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `src` into `dst` with case-insensitive keys (canonical spelling when known). */
function mergeInto(dst: Tree, src: Tree): void {
  for (const [rawKey, value] of Object.entries(src)) {
    const key = CANONICAL[rawKey.toLowerCase()] ?? rawKey;
    const existing = Object.keys(dst).find((k) => k.toLowerCase() === key.toLowerCase());
    const target = existing ?? key;
    if (isTree(value)) {
      const cur = dst[target];
      const next: Tree = isTree(cur) ? cur : {};
      mergeInto(next, value);
      dst[target] = next;
    } else {
      dst[target] = value;
    }
  }
}

/** Keeps only the `Persistence` and `Postgres` sections (case-insensitive) of a JSON document. */
function pickSections(doc: unknown): Tree {
  const out: Tree = {};
  if (!isTree(doc)) return out;
  for (const [k, v] of Object.entries(doc)) {
    const lk = k.toLowerCase();
    if (lk === 'persistence' || lk === 'postgres') mergeInto(out, { [lk]: v });
  }
  return out;
}

function readJson(path: string, problems: ConfigProblem[]): Tree {
  if (!existsSync(path)) return {};
  try {
    return pickSections(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    // JSON.parse messages may quote file content (secrets): report position only.
    const where = e instanceof SyntaxError ? (/position \d+/.exec(e.message)?.[0] ?? 'unknown position') : 'unreadable';
    problems.push({ path: path, message: `invalid JSON (${where})` });
    return {};
  }
}

/** Turns `Persistence__Notify=Postgres` style variables into a tree. */
function fromEnv(env: Record<string, string | undefined>, prefix: string): Tree {
  const out: Tree = {};
  const lp = prefix.toLowerCase();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!name.toLowerCase().startsWith(lp)) continue;
    const parts = name.slice(prefix.length).split('__');
    const section = parts[0]?.toLowerCase();
    if (section !== 'persistence' && section !== 'postgres') continue;
    if (parts.some((p) => p === '')) continue;
    let node: Tree = {};
    const root = node;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) node[p] = value;
      else {
        const next: Tree = {};
        node[p] = next;
        node = next;
      }
    });
    mergeInto(out, root);
  }
  return out;
}

/**
 * Loads {@link PersistenceOptions} the way the .NET services do:
 * defaults < `appsettings.json` < `appsettings.{Environment}.json` <
 * environment variables (`Persistence__Notify=Postgres`,
 * `Postgres__ConnectionString=…`, `__` nests, keys case-insensitive, optional
 * prefix) < `overrides`.
 *
 * @throws {@link ConfigurationError} with EVERY problem (path + allowed values); nothing is returned partially
 * @example
 * ```ts
 * const opts = loadPersistenceOptions({ configDir: '/etc/stellaops', envPrefix: 'STELLAOPS_' });
 * if (opts.persistence.Notify === 'Postgres') { ... }
 * ```
 */
export function loadPersistenceOptions(args: LoadPersistenceOptionsArgs = {}): PersistenceOptions {
  const env = args.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const merged: Tree = {};
  const dir = args.configDir === undefined ? process.cwd() : args.configDir;
  if (dir !== null) {
    mergeInto(merged, readJson(join(dir, 'appsettings.json'), problems));
    const environment = args.environment ?? env.DOTNET_ENVIRONMENT ?? env.ASPNETCORE_ENVIRONMENT;
    if (environment) {
      if (!/^[A-Za-z0-9_.-]+$/.test(environment)) {
        problems.push({ path: 'Environment', message: 'must contain only letters, digits, ".", "_" or "-"' });
      } else {
        mergeInto(merged, readJson(join(dir, `appsettings.${environment}.json`), problems));
      }
    }
  }
  mergeInto(merged, fromEnv(env, args.envPrefix ?? ''));
  if (args.overrides) mergeInto(merged, pickSections(args.overrides));
  return parsePersistenceOptions(merged, problems);
}

/**
 * Validates an already merged configuration object (`{ Persistence: {...}, Postgres: {...} }`,
 * keys case-insensitive).
 *
 * @throws {@link ConfigurationError} listing every problem
 */
export function parsePersistenceOptions(input: Record<string, unknown>, earlierProblems: ConfigProblem[] = []): PersistenceOptions {
  const merged: Tree = {};
  mergeInto(merged, pickSections(input));
  const r = PersistenceOptionsSchema.safeParse(merged, { reportInput: true });
  const problems = [
    ...earlierProblems,
    ...(r.success ? [] : zodProblems(r.error, '').map((p) => ({ ...p, path: p.path.replace(/^\./, '') }))),
  ];
  // Cross-field rule checked on the raw input so that it is reported together with every other problem.
  const persistence = isTree(merged.persistence) ? merged.persistence : {};
  const onPostgres = PERSISTENCE_MODULES.filter(
    (m) => (typeof persistence[m] === 'string' ? persistence[m] : '').trim().toLowerCase() === 'postgres',
  );
  const pg = isTree(merged.postgres) ? merged.postgres : undefined;
  if (onPostgres.length > 0 && pg === undefined) {
    problems.push({
      path: 'Postgres.ConnectionString',
      message: `is required because ${onPostgres.join(', ')} use${onPostgres.length === 1 ? 's' : ''} Postgres`,
    });
  }
  if (problems.length > 0 || !r.success) throw new ConfigurationError(problems);
  return r.data;
}
