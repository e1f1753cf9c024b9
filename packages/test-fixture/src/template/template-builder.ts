import type pg from 'pg';
import { quoteIdentifier } from '@stellaops/safe-text';
import { TemplateBuildError } from '../errors/index.js';
import {
  advisoryUnlock,
  databaseExists,
  dropDatabase,
  renameDatabase,
  sealTemplate,
  terminateSessions,
  tryAdvisoryLock,
} from './admin-sql.js';
import { templateNameOf, type TemplateMigrations } from './template-migrations.js';
import { buildingName } from './names.js';
import type { FixtureTenantKey } from '../server/tenant-key.js';

/** What the builder needs to know about the server. */
export interface TemplateBuilderContext {
  admin: pg.Pool;
  runTag: string;
  urlFor(database: string): string;
  /** The server's test tenant key, handed to every migration set. */
  tenantKey: FixtureTenantKey;
  /** Longest wait for another process that is building the same template. */
  lockTimeoutMs?: number;
}

/**
 * Builds each migration set's template once per server, across processes:
 * a session advisory lock (polled with try-lock, so a waiter never blocks a
 * `CREATE INDEX CONCURRENTLY` inside a migration) serializes builders; the
 * schema is built under a temporary name, sealed (`IS_TEMPLATE`,
 * `ALLOW_CONNECTIONS false`) and only then renamed into place. A failing
 * migration drops the half-built database and throws {@link TemplateBuildError}.
 */
export class TemplateBuilder {
  readonly #ctx: TemplateBuilderContext;
  readonly #ready = new Map<string, Promise<string>>();

  constructor(ctx: TemplateBuilderContext) {
    this.#ctx = ctx;
  }

  /** Name of the ready template for `set`, building it first if no process has. */
  ensure(set: TemplateMigrations): Promise<string> {
    const { name } = templateNameOf(set, this.#ctx.tenantKey.tenantKeyId);
    let p = this.#ready.get(name);
    if (!p) {
      p = this.#ensure(set);
      p.catch(() => this.#ready.delete(name));
      this.#ready.set(name, p);
    }
    return p;
  }

  async #ensure(set: TemplateMigrations): Promise<string> {
    const { admin } = this.#ctx;
    const { name, key } = templateNameOf(set, this.#ctx.tenantKey.tenantKeyId);
    if (await databaseExists(admin, name)) return name;
    const client = await admin.connect();
    try {
      await this.#lock(client, name);
      try {
        if (await databaseExists(admin, name)) return name;
        await this.#build(set, name, key);
        return name;
      } finally {
        await advisoryUnlock(client, name);
      }
    } finally {
      client.release();
    }
  }

  async #lock(client: pg.PoolClient, name: string): Promise<void> {
    const deadline = performance.now() + (this.#ctx.lockTimeoutMs ?? 600_000);
    while (!(await tryAdvisoryLock(client, name))) {
      if (performance.now() > deadline) {
        throw new TemplateBuildError(
          name,
          `Timed out waiting for another process to build template ${name}. Fix: look for a hung migration in another test run.`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async #build(set: TemplateMigrations, name: string, key: string): Promise<void> {
    const { admin } = this.#ctx;
    const building = buildingName(key, this.#ctx.runTag);
    await dropDatabase(admin, building);
    await admin.query(`create database ${quoteIdentifier(building)} template template0 encoding 'UTF8'`);
    try {
      await set.migrate({ connectionString: this.#ctx.urlFor(building), database: building, tenantKey: this.#ctx.tenantKey });
    } catch (cause) {
      await dropDatabase(admin, building).catch(() => undefined);
      const msg = cause instanceof Error ? cause.message : String(cause);
      throw new TemplateBuildError(
        set.name,
        `The migrations of "${set.name}" failed while building the test template: ${msg}. ` +
          'The half-built template was dropped, not marked ready. Fix the migration and rerun; the template is rebuilt on the next run.',
        { cause },
      );
    }
    await terminateSessions(admin, building);
    // seal first, then rename: the ready name never points at an unsealed database
    await sealTemplate(admin, building);
    await renameDatabase(admin, building, name);
  }
}
