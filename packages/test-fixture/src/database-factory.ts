import { quietPool } from './util/quiet-pool.js';
import type pg from 'pg';
import { ClonePool } from './template/clone-pool.js';
import type { CloneStrategy } from './template/admin-sql.js';
import { EMPTY_TEMPLATE_MIGRATIONS, type TemplateMigrations } from './template/template-migrations.js';
import { TemplateBuilder } from './template/template-builder.js';
import { TestDatabase } from './test-database.js';
import { urlFor, type TestServerInfo } from './server/test-server.js';
import { fixtureTenantKey } from './server/tenant-key.js';

/** Options of a {@link DatabaseFactory}. */
export interface DatabaseFactoryOptions {
  /** Ready clones kept per template; default 2 (`STELLAOPS_TEST_PG_POOL_SIZE`). */
  poolSize?: number;
  /** How clones are copied; default FILE_COPY. */
  strategy?: CloneStrategy;
}

/**
 * Hands out isolated databases on a test server: builds each migration set's
 * template once (across processes) and keeps a pool of ready clones per
 * template. One per process is enough; {@link close} drops what is unused.
 *
 * @example
 * ```ts
 * const factory = new DatabaseFactory(server.info);
 * await using db = await factory.acquire(authorityMigrations);
 * await db.pool.query('select count(*) from authority.users');
 * await factory.close();
 * ```
 */
export class DatabaseFactory {
  /** The server this factory creates databases on. */
  readonly server: TestServerInfo;
  readonly #admin: pg.Pool;
  readonly #builder: TemplateBuilder;
  readonly #pools = new Map<string, ClonePool>();
  readonly #options: DatabaseFactoryOptions;

  constructor(server: TestServerInfo, options: DatabaseFactoryOptions = {}) {
    this.server = server;
    this.#options = options;
    this.#admin = quietPool({ connectionString: urlFor(server, server.adminDatabase), max: 4 });
    this.#builder = new TemplateBuilder({
      admin: this.#admin,
      runTag: server.runTag,
      urlFor: (db) => urlFor(server, db),
      tenantKey: fixtureTenantKey(server),
    });
  }

  /** Builds (once) and returns the template database name for `set`. */
  template(set: TemplateMigrations = EMPTY_TEMPLATE_MIGRATIONS): Promise<string> {
    return this.#builder.ensure(set);
  }

  /** The clone pool of `set`'s template. */
  async pool(set: TemplateMigrations = EMPTY_TEMPLATE_MIGRATIONS): Promise<ClonePool> {
    const template = await this.template(set);
    let pool = this.#pools.get(template);
    if (!pool) {
      const size = this.#options.poolSize ?? (Number(process.env.STELLAOPS_TEST_PG_POOL_SIZE) || 2);
      pool = new ClonePool({
        admin: this.#admin,
        template,
        runTag: this.server.runTag,
        size,
        strategy: this.#options.strategy ?? 'FILE_COPY',
        warm: (database) => {
          // starts connecting now, in the background: a test's first query need not wait for a backend to start
          const warmPool = TestDatabase.openPool(urlFor(this.server, database));
          warmPool.connect().then(
            (client) => client.release(),
            () => undefined, // the test's own first query reports a connection problem
          );
          return warmPool;
        },
      });
      this.#pools.set(template, pool);
    }
    return pool;
  }

  /** An isolated database with `set`'s schema, for exclusive use until released. */
  async acquire(set: TemplateMigrations = EMPTY_TEMPLATE_MIGRATIONS): Promise<TestDatabase> {
    const pool = await this.pool(set);
    const { name, pool: warm } = await pool.acquire();
    return new TestDatabase(name, urlFor(this.server, name), (keep) => pool.release(name, keep), warm);
  }

  /** Drops unused clones, waits for background drops, closes admin connections. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
    await this.#admin.end();
  }
}
