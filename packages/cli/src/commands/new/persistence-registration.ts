import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `registered`: the module was added to PersistenceOptions; `present`: it was there already. */
export type PersistenceRegistration = 'registered' | 'present';

/** Where PersistenceOptions' module list lives, relative to the workspace root. */
export const PERSISTENCE_OPTIONS_FILE = join('packages', 'postgres-core', 'src', 'persistence', 'persistence-options.ts');

/**
 * Adds a module to PersistenceOptions (postgres-core's `PERSISTENCE_MODULES`
 * and the zod schema's `persistence` object, default `Mongo`) unless it is
 * listed already, by editing the source file in the workspace.
 *
 * @param title the module as configured, e.g. `Scheduler` (`Persistence__Scheduler=Postgres`)
 * @param known the modules this CLI's postgres-core knows
 * @example
 * registerPersistenceModule(root, 'Scheduler', PERSISTENCE_MODULES); // 'present'
 */
export function registerPersistenceModule(root: string, title: string, known: readonly string[]): PersistenceRegistration {
  const file = join(root, PERSISTENCE_OPTIONS_FILE);
  if (!existsSync(file)) {
    if (known.includes(title)) return 'present';
    throw new Error(`cannot register ${title} in PersistenceOptions: ${PERSISTENCE_OPTIONS_FILE} is missing`);
  }
  const text = readFileSync(file, 'utf8');
  const list = /export const PERSISTENCE_MODULES = \[([^\]]*)\] as const;/.exec(text);
  const entries = /^([ \t]+)\w+: backend,$/gm;
  const lastEntry = [...text.matchAll(entries)].at(-1);
  if (!list || !lastEntry) {
    throw new Error(
      `cannot register ${title} in PersistenceOptions: ${PERSISTENCE_OPTIONS_FILE} no longer has the expected shape; add it to PERSISTENCE_MODULES and the schema by hand`,
    );
  }
  const names = [...list[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  if (names.includes(title)) return 'present';
  let next = text.replace(list[0], `export const PERSISTENCE_MODULES = [${[...names, title].map((n) => `'${n}'`).join(', ')}] as const;`);
  const at = next.indexOf(lastEntry[0]) + lastEntry[0].length;
  next = `${next.slice(0, at)}\n${lastEntry[1]!}${title}: backend,${next.slice(at)}`;
  writeFileSync(file, next);
  return 'registered';
}
