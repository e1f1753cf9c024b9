import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigProblem } from '@stellaops/postgres-core';

/** Where configuration comes from (the same sources as postgres-core's `loadPersistenceOptions`). */
export interface ConfigSources {
  /** Directory holding `appsettings.json` (default: `process.cwd()`); `null` reads no file. */
  configDir?: string | null;
  /** Environment name for `appsettings.{Environment}.json` (default: `DOTNET_ENVIRONMENT`, then `ASPNETCORE_ENVIRONMENT`). */
  environment?: string;
  /** Environment variables (default: `process.env`). */
  env?: Record<string, string | undefined>;
  /** Only environment variables starting with this prefix are read, prefix removed (case-insensitive). */
  envPrefix?: string;
}

/** A configuration tree: JSON objects with string leaves from the environment. */
export type ConfigTree = { [key: string]: unknown };

function isTree(v: unknown): v is ConfigTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge with case-insensitive keys; the first spelling seen wins. */
function mergeInto(dst: ConfigTree, src: ConfigTree): void {
  for (const [key, value] of Object.entries(src)) {
    const target = Object.keys(dst).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
    if (isTree(value)) {
      const cur = dst[target];
      const next: ConfigTree = isTree(cur) ? cur : {};
      mergeInto(next, value);
      dst[target] = next;
    } else {
      dst[target] = value;
    }
  }
}

function pick(doc: unknown, section: string): ConfigTree {
  if (!isTree(doc)) return {};
  const out: ConfigTree = {};
  for (const [k, v] of Object.entries(doc)) if (k.toLowerCase() === section.toLowerCase() && isTree(v)) mergeInto(out, v);
  return out;
}

function readJsonSection(path: string, section: string, problems: ConfigProblem[]): ConfigTree {
  if (!existsSync(path)) return {};
  try {
    return pick(JSON.parse(readFileSync(path, 'utf8')), section);
  } catch (e) {
    // JSON.parse messages may quote file content (secrets): position only. postgres-core reports the same
    // file for its sections; the problem is reported once (see readSection's caller).
    const where = e instanceof SyntaxError ? (/position \d+/.exec(e.message)?.[0] ?? 'unknown position') : 'unreadable';
    problems.push({ path, message: `invalid JSON (${where})` });
    return {};
  }
}

function fromEnv(env: Record<string, string | undefined>, prefix: string, section: string): ConfigTree {
  const out: ConfigTree = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toLowerCase().startsWith(prefix.toLowerCase())) continue;
    const parts = name.slice(prefix.length).split('__');
    if (parts[0]?.toLowerCase() !== section.toLowerCase() || parts.length < 2 || parts.some((p) => p === '')) continue;
    const root: ConfigTree = {};
    let node = root;
    for (const [i, p] of parts.slice(1).entries()) {
      if (i === parts.length - 2) node[p] = value;
      else node = node[p] = {};
    }
    mergeInto(out, root);
  }
  return out;
}

/**
 * Reads one configuration section the .NET way: `appsettings.json` <
 * `appsettings.{Environment}.json` < environment variables (`Worker__BatchSize=20`,
 * `__` nests, keys case-insensitive). File problems are appended to `problems`.
 *
 * @example
 * ```ts
 * const problems: ConfigProblem[] = [];
 * const worker = readSection('Worker', { configDir: '/etc/stellaops' }, problems); // { BatchSize: '20', ... }
 * ```
 */
export function readSection(section: string, sources: ConfigSources, problems: ConfigProblem[]): ConfigTree {
  const env = sources.env ?? process.env;
  const out: ConfigTree = {};
  const dir = sources.configDir === undefined ? process.cwd() : sources.configDir;
  if (dir !== null) {
    mergeInto(out, readJsonSection(join(dir, 'appsettings.json'), section, problems));
    const environment = sources.environment ?? env.DOTNET_ENVIRONMENT ?? env.ASPNETCORE_ENVIRONMENT;
    if (environment && /^[A-Za-z0-9_.-]+$/.test(environment)) {
      mergeInto(out, readJsonSection(join(dir, `appsettings.${environment}.json`), section, problems));
    }
  }
  mergeInto(out, fromEnv(env, sources.envPrefix ?? '', section));
  return out;
}

/**
 * Rewrites a tree's keys to the canonical spelling of `shape`'s keys
 * (case-insensitive), recursively, so `batchsize`, `BatchSize` and `BATCHSIZE` all
 * reach the schema's `batchSize`. Unknown keys are kept as they are (the schema
 * reports them).
 */
export function canonicalKeys(tree: ConfigTree, shape: Record<string, unknown>): ConfigTree {
  const out: ConfigTree = {};
  const byLower = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
  for (const [k, v] of Object.entries(tree)) {
    const key = byLower.get(k.toLowerCase()) ?? k;
    const sub = shape[key];
    out[key] = isTree(v) && isTree(sub) ? canonicalKeys(v, sub) : v;
  }
  return out;
}
