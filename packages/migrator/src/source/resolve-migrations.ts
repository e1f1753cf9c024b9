import { captureSql, renderRecordedQueries } from '../capture/capture-sql.js';
import { normalizeSource } from '../checksum/normalize-source.js';
import { sha256Hex } from '../checksum/sha256.js';
import { InvalidMigrationError } from '../errors/invalid-migration-error.js';
import { compareMigrationIds } from '../migration/compare-ids.js';
import { describeMigrationId } from '../migration/describe-id.js';
import type { ChecksumSource, Migration, MigrationStep, ResolvedMigration, ResolvedStep } from '../migration/migration.js';
import { isTransactionControl, splitSqlStatements } from '../sql-text/split-statements.js';
import { loadMigrationsFromDirectory } from './load-directory.js';
import type { MigrationSource } from './migration-source.js';

/** Loads a migration source into plain migration definitions (unvalidated). */
export async function loadMigrationSource(source: MigrationSource): Promise<readonly Migration[]> {
  if (typeof source === 'function') return source();
  if (Array.isArray(source)) return source as readonly Migration[];
  if ('directory' in source) return loadMigrationsFromDirectory(source.directory, source.importModule);
  if ('getMigrations' in source) {
    const record = await source.getMigrations();
    return Object.entries(record).map(([id, m]) => ({ id, up: m.up, ...(m.down !== undefined ? { down: m.down } : {}) }));
  }
  throw new InvalidMigrationError('unsupported migration source');
}

/**
 * Validates migrations (ids unique, at most 255 characters; SQL does not
 * manage its own transaction; no-transaction migrations hold one statement),
 * computes checksums, and returns them in natural id order.
 *
 * Checksums: SQL steps hash their normalized text; Kysely steps hash the
 * normalized SQL a dry run compiles (stable whether the code runs from `src`
 * through tsx or from a `dist` build); a step whose dry run throws falls back
 * to its normalized function source. An explicit `checksum` wins.
 */
export async function resolveMigrations(source: MigrationSource): Promise<ResolvedMigration[]> {
  const defs = await loadMigrationSource(source);
  const seen = new Set<string>();
  const out: ResolvedMigration[] = [];
  for (const def of defs) {
    if (typeof def.id !== 'string' || def.id.trim() !== def.id || def.id.length === 0) {
      throw new InvalidMigrationError(`invalid migration id ${JSON.stringify(def.id)}`);
    }
    if (def.id.length > 255) throw new InvalidMigrationError('id is longer than 255 characters', def.id);
    if (def.lockTimeoutMs !== undefined && (!Number.isInteger(def.lockTimeoutMs) || def.lockTimeoutMs < 0)) {
      throw new InvalidMigrationError('lockTimeoutMs must be a non-negative integer', def.id);
    }
    if (seen.has(def.id)) throw new InvalidMigrationError('id is used by more than one migration', def.id);
    seen.add(def.id);
    const transaction = def.transaction ?? true;
    const up = resolveStep(def.id, 'up', def.up, transaction);
    const down = def.down === undefined ? undefined : resolveStep(def.id, 'down', def.down, transaction);
    const { checksum, checksumSource } = await checksumOf(def, up);
    out.push({
      id: def.id,
      description: def.description ?? describeMigrationId(def.id),
      transaction,
      checksum,
      checksumSource,
      up,
      down,
      origin: def.origin,
      lockTimeoutMs: def.lockTimeoutMs,
    });
  }
  out.sort((a, b) => compareMigrationIds(a.id, b.id));
  return out;
}

function resolveStep(id: string, dir: 'up' | 'down', step: MigrationStep, transaction: boolean): ResolvedStep {
  if (typeof step === 'function') return { kind: 'kysely', fn: step };
  if (typeof step !== 'string') throw new InvalidMigrationError(`${dir} must be a function or SQL text`, id);
  const statements = splitSqlStatements(step);
  if (statements.length === 0) throw new InvalidMigrationError(`${dir} SQL has no statement`, id);
  const tx = statements.find((s) => isTransactionControl(s.text));
  if (tx) {
    throw new InvalidMigrationError(
      `${dir} SQL must not control the transaction ("${tx.text.slice(0, 40)}"): the runner wraps each migration in its own transaction; declare -- stella:no-transaction to run outside one`,
      id,
    );
  }
  if (!transaction && statements.length !== 1) {
    throw new InvalidMigrationError(
      `${dir} runs outside a transaction, so it must hold exactly one statement (found ${statements.length})`,
      id,
    );
  }
  return { kind: 'sql', sql: step, statements };
}

async function checksumOf(def: Migration, up: ResolvedStep): Promise<{ checksum: string; checksumSource: ChecksumSource }> {
  if (def.checksum !== undefined) return { checksum: def.checksum, checksumSource: 'explicit' };
  if (up.kind === 'sql') return { checksum: sha256Hex(normalizeSource(up.sql)), checksumSource: 'sql' };
  const captured = await captureSql(up.fn);
  if (captured.ok) return { checksum: sha256Hex(normalizeSource(renderRecordedQueries(captured.queries))), checksumSource: 'captured-sql' };
  return { checksum: sha256Hex(up.fn.toString().replace(/\s+/g, ' ').trim()), checksumSource: 'function-source' };
}
