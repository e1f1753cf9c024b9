import { quietPool } from './util/quiet-pool.js';
import { Kysely, PostgresDialect } from 'kysely';
import { FixtureError } from './errors/index.js';
import type pg from 'pg';

/**
 * An isolated database for one test (or one test file): a copy of the
 * migrated template, dropped when released.
 *
 * @example
 * ```ts
 * await using db = await fixture.createDatabase();
 * await db.pool.query('select 1');
 * const rows = await db.kysely<DB>().selectFrom('authority.users').selectAll().execute();
 * ```
 */
export class TestDatabase implements AsyncDisposable {
  /** The database name. */
  readonly database: string;
  /** Superuser URL of this database. */
  readonly connectionString: string;
  readonly #release: (keep: boolean) => Promise<string | undefined>;
  #pool: pg.Pool | undefined;
  #kysely: Kysely<unknown> | undefined;
  #released = false;

  /**
   * @param pool an already connected pool on this database (a prefilled clone), taken over and closed on release
   */
  constructor(database: string, connectionString: string, release: (keep: boolean) => Promise<string | undefined>, pool?: pg.Pool) {
    this.database = database;
    this.connectionString = connectionString;
    this.#release = release;
    this.#pool = pool;
  }

  /** A pool for a test database: no idle timeout (it lives as long as its test), errors of ended sessions ignored. */
  static openPool(connectionString: string): pg.Pool {
    return quietPool({ connectionString, max: 10, idleTimeoutMillis: 0 });
  }

  /** A `pg` pool on this database (created on first use, closed on release). */
  get pool(): pg.Pool {
    this.#assertOpen();
    this.#pool ??= TestDatabase.openPool(this.connectionString);
    return this.#pool;
  }

  /** A Kysely instance over {@link pool}, typed with your `DB` interface. */
  kysely<DB>(): Kysely<DB> {
    this.#assertOpen();
    this.#kysely ??= new Kysely<unknown>({ dialect: new PostgresDialect({ pool: this.pool }) });
    return this.#kysely as Kysely<DB>;
  }

  /**
   * Closes connections and drops the database. With `keep`, renames it to a
   * `fx_keep_…` name instead and returns that name (for debugging a failure).
   */
  async release(options: { keep?: boolean } = {}): Promise<string | undefined> {
    if (this.#released) return undefined;
    this.#released = true;
    const kysely = this.#kysely;
    const pool = this.#pool;
    this.#kysely = undefined;
    this.#pool = undefined;
    if (kysely) await kysely.destroy();
    else if (pool) await pool.end();
    return this.#release(options.keep === true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  #assertOpen(): void {
    if (this.#released)
      throw new FixtureError('FIXTURE_RELEASED', `Test database ${this.database} was already released; use it only inside its test.`);
  }
}
