import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ResolvedMigration } from '@stellaops/migrator';

/** The committed pin file of a module: every migration's checksum, by id. */
export interface MigrationPins {
  /** The module's schema. */
  schema: string;
  /** Why the file exists and how to add a pin. */
  note: string;
  /** Checksum (sha256 hex of the normalized source) per migration id. */
  migrations: Record<string, string>;
}

/** Arguments of {@link checkMigrationPins}. */
export interface CheckMigrationPinsArgs {
  /** The module's schema (recorded in a new pin file). */
  schema: string;
  /** The module's migrations, resolved (`resolveMigrations(set.migrations)`). */
  resolved: readonly ResolvedMigration[];
  /** The pin file, e.g. `new URL('../migrations.lock.json', import.meta.url)`. */
  lockFile: URL;
  /** Add pins for migrations that have none (never rewrites an existing pin). Default: `UPDATE_MIGRATION_PINS=1`. */
  update?: boolean;
}

/** What {@link checkMigrationPins} found. */
export interface MigrationPinReport {
  /** One message per changed, removed or unpinned migration; empty when all match. */
  problems: string[];
  /** Ids pinned by this call (update mode only). */
  added: string[];
}

const NOTE =
  'Checksums of applied migrations. An entry is never changed: a migration whose text changes fails the pin test; write a new migration instead. ' +
  'New migrations are pinned with UPDATE_MIGRATION_PINS=1 pnpm test (existing entries are never rewritten).';

/**
 * Compares a module's migrations with their committed pins. A pinned
 * migration whose checksum changed, or that disappeared, is a problem whose
 * message says to restore it and write a new migration instead; a migration
 * without a pin is a problem too, unless `update` is on — then its pin is
 * appended to the file. Existing pins are never rewritten, in any mode.
 *
 * @example
 * const { problems } = checkMigrationPins({ schema: 'notify', resolved: await resolveMigrations(migrations.migrations), lockFile });
 * expect(problems).toEqual([]);
 */
export function checkMigrationPins(args: CheckMigrationPinsArgs): MigrationPinReport {
  const update = args.update ?? process.env.UPDATE_MIGRATION_PINS === '1';
  const path = fileURLToPath(args.lockFile);
  const pins = readPins(path, args.schema);
  const problems: string[] = [];
  const added: string[] = [];
  const present = new Set(args.resolved.map((m) => m.id));
  for (const m of args.resolved) {
    const pinned = pins.migrations[m.id];
    if (pinned === undefined) {
      if (update) {
        pins.migrations[m.id] = m.checksum;
        added.push(m.id);
      } else {
        problems.push(
          `migration ${m.id} (${args.schema}) has no pin in ${path}: pin a NEW migration with UPDATE_MIGRATION_PINS=1 pnpm test (it never rewrites an existing pin)`,
        );
      }
    } else if (pinned !== m.checksum) {
      problems.push(
        `migration ${m.id} (${args.schema}) changed: pinned checksum ${pinned}, now ${m.checksum}. ` +
          'Databases already applied the pinned text and would stop on a checksum mismatch. ' +
          'Restore its text exactly (literal SQL, nothing computed from helpers) and write a new migration for the change instead.',
      );
    }
  }
  for (const id of Object.keys(pins.migrations)) {
    if (!present.has(id)) {
      problems.push(
        `migration ${id} (${args.schema}) is pinned but no longer exists: databases applied it; restore it and write a new migration instead`,
      );
    }
  }
  if (added.length > 0) writeFileSync(path, `${JSON.stringify(pins, null, 2)}\n`);
  return { problems, added };
}

function readPins(path: string, schema: string): MigrationPins {
  if (!existsSync(path)) return { schema, note: NOTE, migrations: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<MigrationPins>;
  if (typeof parsed.migrations !== 'object' || parsed.migrations === null) {
    throw new Error(`${path} is not a migration pin file (no "migrations" object)`);
  }
  return { schema: parsed.schema ?? schema, note: parsed.note ?? NOTE, migrations: { ...parsed.migrations } };
}
