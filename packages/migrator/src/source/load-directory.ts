import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import type { Migration, MigrationStep } from '../migration/migration.js';
import { readSqlDirectives } from '../sql-text/directives.js';
import type { ModuleImporter } from './migration-source.js';

const MODULE_EXT = /\.(?:ts|mts|js|mjs)$/;
const SKIP = /\.(?:d\.[mc]?ts|test\.[mc]?[jt]s|spec\.[mc]?[jt]s|map)$/;

/**
 * Loads the migrations of a folder (not recursive):
 * - `V001__create_schema.sql` is a migration with id `V001__create_schema`;
 *   `V001__create_schema.down.sql` is its `down`. A first comment line
 *   `-- stella:no-transaction` runs it outside a transaction;
 *   `-- stella:description …` sets its description.
 * - `V002_AddUsers.ts` (or `.js`, `.mts`, `.mjs`) exports `up`, optionally
 *   `down`, `description`, `transaction`, `checksum` — or a default export of
 *   that shape. `.d.ts`, `*.test.*` and `*.spec.*` files are ignored.
 */
export async function loadMigrationsFromDirectory(
  directory: string | URL,
  importModule: ModuleImporter = (url) => import(url),
): Promise<Migration[]> {
  const dir = typeof directory === 'string' ? directory : fileURLToPath(directory);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (error) {
    throw new InvalidMigrationError(`cannot read migrations folder ${dir}`, undefined, { cause: error });
  }
  names.sort();
  const byId = new Map<string, Migration>();
  const downs = new Map<string, string>();
  const add = (m: Migration) => {
    if (byId.has(m.id))
      throw new InvalidMigrationError(`defined twice in ${dir} (${byId.get(m.id)?.origin ?? '?'} and ${m.origin ?? '?'})`, m.id);
    byId.set(m.id, m);
  };
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.down.sql')) {
      downs.set(name.slice(0, -'.down.sql'.length), await readFile(file, 'utf8'));
    } else if (name.endsWith('.sql')) {
      const text = await readFile(file, 'utf8');
      const d = readSqlDirectives(text);
      add({
        id: name.slice(0, -'.sql'.length),
        ...(d.description !== undefined ? { description: d.description } : {}),
        ...(d.lockTimeoutMs !== undefined ? { lockTimeoutMs: d.lockTimeoutMs } : {}),
        up: text,
        transaction: !d.noTransaction,
        origin: file,
      });
    } else if (MODULE_EXT.test(name) && !SKIP.test(name)) {
      add(await loadModule(file, name.replace(MODULE_EXT, ''), importModule));
    }
  }
  for (const [id, text] of downs) {
    const m = byId.get(id);
    if (!m) throw new InvalidMigrationError(`${id}.down.sql has no matching ${id}.sql`, id);
    if (m.down !== undefined) throw new InvalidMigrationError('has both a down export and a .down.sql file', id);
    m.down = text;
  }
  return [...byId.values()];
}

async function loadModule(file: string, id: string, importModule: ModuleImporter): Promise<Migration> {
  let mod: Record<string, unknown>;
  try {
    mod = (await importModule(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidMigrationError(`cannot import ${basename(file)}`, id, { cause: error });
  }
  const src = isRecord(mod.default) && 'up' in mod.default ? mod.default : mod;
  if (!isStep(src.up)) throw new InvalidMigrationError(`${basename(file)} must export an "up" function or SQL string`, id);
  if (src.down !== undefined && !isStep(src.down))
    throw new InvalidMigrationError(`${basename(file)}: "down" must be a function or SQL string`, id);
  const m: Migration = { id: typeof src.id === 'string' ? src.id : id, up: src.up, origin: file };
  if (src.down !== undefined) m.down = src.down;
  if (typeof src.description === 'string') m.description = src.description;
  if (typeof src.transaction === 'boolean') m.transaction = src.transaction;
  if (typeof src.checksum === 'string') m.checksum = src.checksum;
  if (typeof src.lockTimeoutMs === 'number') m.lockTimeoutMs = src.lockTimeoutMs;
  return m;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isStep(v: unknown): v is MigrationStep {
  return typeof v === 'function' || typeof v === 'string';
}
