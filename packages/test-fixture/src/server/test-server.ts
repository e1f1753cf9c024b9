import { quietPool } from '../util/quiet-pool.js';
import type pg from 'pg';
import { dropDatabase, listDatabases } from '../template/admin-sql.js';
import { HOST_TAG, newNonce, ownerOf, PREFIX, runTagFor } from '../template/names.js';
import { isAlive } from '../embedded/leases.js';
import { decideProvider, startProvider } from '../providers/select-provider.js';
import type { StartedServer } from '../providers/started-server.js';
import { buildUrl, type ServerAddress } from '../util/connection-url.js';
import { fixtureTenantKey, type FixtureTenantKey } from './tenant-key.js';
import { resolveServerOptions, type ProviderName, type TestServerOptions } from './options.js';

/**
 * Everything a test process needs to reach the server; plain data, so vitest
 * can hand it from the global setup to the workers (`provide`/`inject`).
 */
export interface TestServerInfo extends ServerAddress {
  provider: ProviderName;
  /** Database for administration (CREATE/DROP DATABASE). */
  adminDatabase: string;
  /** Tag of the run that owns the server claim; clones carry it in their names. */
  runTag: string;
}

/** Superuser URL of `database` on the server, or the URL for another role. */
export function urlFor(info: ServerAddress, database: string, credentials?: { user: string; password?: string }): string {
  return buildUrl(info, database, credentials);
}

/** Drops clones and half-built templates of runs on this machine whose owning process is gone. */
export async function sweepOrphans(admin: pg.Pool, keepRunTag?: string): Promise<string[]> {
  const names = [...(await listDatabases(admin, PREFIX.clone)), ...(await listDatabases(admin, PREFIX.building))];
  const dropped: string[] = [];
  for (const name of names) {
    const owner = ownerOf(name);
    if (!owner || owner.host !== HOST_TAG || owner.runTag === keepRunTag) continue;
    if (isAlive(owner.pid)) continue;
    await dropDatabase(admin, name).catch(() => undefined);
    dropped.push(name);
  }
  return dropped;
}

/** Drops every clone of the run `runTag` (what its workers did not drop, e.g. after a crash). */
export async function dropRunClones(admin: pg.Pool, runTag: string): Promise<number> {
  const names = (await listDatabases(admin, `${PREFIX.clone}${runTag}_`))
    .concat(await listDatabases(admin, PREFIX.building))
    .filter((n) => ownerOf(n)?.runTag === runTag);
  await Promise.all(names.map((n) => dropDatabase(admin, n).catch(() => undefined)));
  return names.length;
}

/**
 * A running PostgreSQL for tests, from whichever provider was chosen.
 *
 * @example
 * ```ts
 * await using server = await startTestServer();            // auto: external, Docker, or embedded
 * console.log(server.info.provider, server.adminConnectionString);
 * ```
 */
export class TestServer implements AsyncDisposable {
  /** Plain data about the server, safe to pass between processes. */
  readonly info: TestServerInfo;
  /** One line saying which provider ran and how. */
  readonly detail: string;
  readonly #started: StartedServer;
  #stopped = false;

  constructor(started: StartedServer, runTag: string) {
    this.#started = started;
    this.detail = started.detail;
    this.info = { provider: started.provider, ...started.address, adminDatabase: started.adminDatabase, runTag };
  }

  /** The server's test tenant key (see {@link fixtureTenantKey}). */
  get tenantKey(): FixtureTenantKey {
    return fixtureTenantKey(this.info);
  }

  /** Superuser URL of the admin database. */
  get adminConnectionString(): string {
    return urlFor(this.info, this.info.adminDatabase);
  }

  /** URL of `database`, as the superuser or as the given role. */
  urlFor(database: string, credentials?: { user: string; password?: string }): string {
    return urlFor(this.info, database, credentials);
  }

  /** Drops this run's leftover clones, then stops the server or releases the shared one. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const admin = quietPool({ connectionString: this.adminConnectionString, max: 2 });
    try {
      await dropRunClones(admin, this.info.runTag);
    } catch {
      // the server may already be gone; the next run sweeps
    } finally {
      await admin.end().catch(() => undefined);
    }
    await this.#started.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts (or joins) a test server: resolves options (explicit > environment >
 * defaults), picks the provider (`auto`: external URL, else Docker if it
 * answers, else embedded), logs that choice once, and sweeps databases left
 * by crashed runs on this machine.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const o = resolveServerOptions(options);
  const decision = await decideProvider(o);
  const nonce = newNonce();
  const started = await startProvider(decision, o, nonce);
  const server = new TestServer(started, runTagFor(process.pid, nonce));
  const admin = quietPool({ connectionString: server.adminConnectionString, max: 2 });
  try {
    const swept = await sweepOrphans(admin, server.info.runTag);
    o.log(
      `[test-fixture] PostgreSQL for tests: ${decision.provider} (${decision.reason}); ${started.detail}${swept.length ? `; swept ${swept.length} database(s) of crashed runs` : ''}`,
    );
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return server;
}
