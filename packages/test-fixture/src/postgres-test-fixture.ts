import type { Kysely } from 'kysely';
import type pg from 'pg';
import { DatabaseFactory, type DatabaseFactoryOptions } from './database-factory.js';
import { startTestServer, type TestServer } from './server/test-server.js';
import type { TestServerOptions } from './server/options.js';
import type { TemplateMigrations } from './template/template-migrations.js';
import type { TestDatabase } from './test-database.js';

/** Options of {@link PostgresTestFixture.start}. */
export interface PostgresTestFixtureOptions extends TestServerOptions, DatabaseFactoryOptions {
  /** Schema of the fixture's databases; default empty. */
  migrations?: TemplateMigrations;
}

/**
 * The seed's `PostgresTestFixture`, for code outside vitest's helpers: a
 * server (any provider) and one isolated, migrated database, with more on
 * demand. Dispose it with `await using` or {@link stop}.
 *
 * @example
 * ```ts
 * await using fx = await PostgresTestFixture.start({ migrations: authorityMigrations });
 * await fx.pool.query('insert into authority.tenants (id) values ($1)', ['t1']);
 * await using other = await fx.createDatabase(); // another isolated copy
 * ```
 */
export class PostgresTestFixture implements AsyncDisposable {
  /** The server (provider, address, admin URL). */
  readonly server: TestServer;
  /** This fixture's own isolated database. */
  readonly database: TestDatabase;
  readonly #factory: DatabaseFactory;
  readonly #migrations: TemplateMigrations | undefined;

  private constructor(server: TestServer, factory: DatabaseFactory, database: TestDatabase, migrations: TemplateMigrations | undefined) {
    this.server = server;
    this.#factory = factory;
    this.database = database;
    this.#migrations = migrations;
  }

  /** Starts a server and acquires one migrated database. */
  static async start(options: PostgresTestFixtureOptions = {}): Promise<PostgresTestFixture> {
    const server = await startTestServer(options);
    const factory = new DatabaseFactory(server.info, options);
    try {
      const db = await factory.acquire(options.migrations);
      return new PostgresTestFixture(server, factory, db, options.migrations);
    } catch (e) {
      await factory.close().catch(() => undefined);
      await server.stop().catch(() => undefined);
      throw e;
    }
  }

  /** Superuser URL of the fixture's database. */
  get connectionString(): string {
    return this.database.connectionString;
  }

  /** A ready `pg` pool on the fixture's database. */
  get pool(): pg.Pool {
    return this.database.pool;
  }

  /** A Kysely instance on the fixture's database. */
  kysely<DB>(): Kysely<DB> {
    return this.database.kysely<DB>();
  }

  /** Another isolated database with the same schema. */
  createDatabase(): Promise<TestDatabase> {
    return this.#factory.acquire(this.#migrations);
  }

  /** Drops the databases and stops (or releases) the server. */
  async stop(): Promise<void> {
    try {
      await this.database.release();
    } finally {
      try {
        await this.#factory.close();
      } finally {
        await this.server.stop(); // always let go of the server, whatever failed before
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
