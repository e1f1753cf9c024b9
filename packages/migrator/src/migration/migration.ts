import type { Kysely } from 'kysely';
import type { SqlStatement } from '../sql-text/split-statements.js';

/**
 * A migration step written against Kysely. It receives a `Kysely` bound to the
 * migration's own connection — inside the migration's transaction unless the
 * migration declares `transaction: false`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KyselyMigrationStep = (db: Kysely<any>) => Promise<void>;

/** A migration step: a Kysely function, or plain SQL text (one or more statements). */
export type MigrationStep = KyselyMigrationStep | string;

/**
 * One migration, as a module or service writes it.
 *
 * @example
 * const m: Migration = {
 *   id: 'V001_CreateAuthoritySchema',
 *   up: async (db) => { await db.schema.createTable('authority.users').addColumn('id', 'uuid', (c) => c.primaryKey()).execute(); },
 *   down: 'drop table authority.users',
 * };
 */
export interface Migration {
  /** Unique id; migrations apply in natural order of ids (`V2` before `V10`). Max 255 characters. */
  id: string;
  /** Human description; derived from the id when omitted. */
  description?: string;
  /** The change. */
  up: MigrationStep;
  /** The reverse change; without it the migration cannot be rolled back. */
  down?: MigrationStep;
  /**
   * `false` runs the migration outside a transaction (for `CREATE INDEX
   * CONCURRENTLY`, `ALTER TYPE … ADD VALUE` used at once…); it must then hold
   * exactly one statement. Default `true`.
   */
  transaction?: boolean;
  /** Explicit checksum; overrides the computed one. */
  checksum?: string;
  /**
   * `lock_timeout` for this migration, in ms (0 = none), instead of the
   * runner's. E.g. `0` for a `CREATE INDEX CONCURRENTLY` that must wait for
   * old transactions (its lock does not block reads or writes; timing out
   * mid-way leaves an INVALID index).
   */
  lockTimeoutMs?: number;
  /** Where the migration came from (a file path), for messages. */
  origin?: string;
}

/** How a resolved migration's checksum was computed. */
export type ChecksumSource = 'sql' | 'captured-sql' | 'function-source' | 'explicit';

/** A migration step ready to run, with its SQL statements when known. */
export type ResolvedStep = { kind: 'sql'; sql: string; statements: SqlStatement[] } | { kind: 'kysely'; fn: KyselyMigrationStep };

/** A validated migration with its checksum, as the runner uses it. */
export interface ResolvedMigration {
  /** Migration id. */
  id: string;
  /** Description (given or derived from the id). */
  description: string;
  /** Whether it runs in its own transaction. */
  transaction: boolean;
  /** sha256 (hex) of its normalized source. */
  checksum: string;
  /** How `checksum` was computed. */
  checksumSource: ChecksumSource;
  /** The change. */
  up: ResolvedStep;
  /** The reverse change, if any. */
  down: ResolvedStep | undefined;
  /** Where it came from, for messages. */
  origin: string | undefined;
  /** Its own `lock_timeout` in ms, when it sets one. */
  lockTimeoutMs: number | undefined;
}
