import type pg from 'pg';
import { createDatabaseFrom, dropDatabase, renameDatabase, terminateSessions, type CloneStrategy } from './admin-sql.js';
import { FixtureError } from '../errors/index.js';
import { keptName, nextCloneName } from './names.js';

/** Options of a {@link ClonePool}. */
export interface ClonePoolOptions {
  admin: pg.Pool;
  template: string;
  runTag: string;
  /** Most ready clones kept in advance; default 2. */
  size?: number;
  strategy?: CloneStrategy;
  /**
   * Opens a connection pool on a prefilled clone that starts connecting at
   * once, so the test using it does not wait for a backend to start either.
   */
  warm?: (database: string) => pg.Pool;
}

/** A clone handed out by {@link ClonePool.acquire}, with its warm pool when it was prefilled. */
export interface AcquiredClone {
  /** Database name. */
  name: string;
  /** A pool already connected to it (prefilled clones, when `warm` is set). */
  pool?: pg.Pool;
}

/**
 * Ready copies of one template, refilled in the background. `acquire` hands
 * out a ready clone at once when there is one, else creates one on demand;
 * `release` drops it (or keeps it under a `fx_keep_` name) without making the
 * caller wait. Prefills only as many clones as are still expected (`expect`),
 * so no clone is made that nobody will use.
 */
export class ClonePool {
  readonly #o: Required<Omit<ClonePoolOptions, 'warm'>> & Pick<ClonePoolOptions, 'warm'>;
  readonly #ready: AcquiredClone[] = [];
  readonly #pending = new Set<Promise<unknown>>();
  #creating = 0;
  #expected = 0;
  #closed = false;
  #failure: unknown;

  constructor(options: ClonePoolOptions) {
    this.#o = { size: 2, strategy: 'FILE_COPY', ...options };
  }

  /** The template this pool copies. */
  get template(): string {
    return this.#o.template;
  }

  /** Says how many more acquisitions to expect, and starts filling for them. */
  expect(count: number): void {
    this.#expected = count;
    this.#refill();
  }

  /** A clone for exclusive use (with a connected pool when prefilled); give it back with {@link release}. */
  async acquire(): Promise<AcquiredClone> {
    if (this.#closed)
      throw new FixtureError('FIXTURE_CLOSED', 'ClonePool is closed: acquire databases before the factory or pool is closed');
    if (this.#expected > 0) this.#expected -= 1;
    const clone = this.#ready.shift() ?? { name: await this.#create() };
    this.#refill();
    return clone;
  }

  /** Drops the clone in the background, or renames it to a `fx_keep_` name and returns that. */
  async release(name: string, keep = false): Promise<string | undefined> {
    if (keep) {
      const kept = keptName(name);
      await terminateSessions(this.#o.admin, name);
      await renameDatabase(this.#o.admin, name, kept);
      return kept;
    }
    this.#track(dropDatabase(this.#o.admin, name).catch(() => undefined));
    return undefined;
  }

  /** Waits for background work and drops the clones nobody took. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await Promise.allSettled(
      this.#ready.splice(0).map(async (c) => {
        await c.pool?.end().catch(() => undefined);
        await dropDatabase(this.#o.admin, c.name);
      }),
    );
  }

  async #create(): Promise<string> {
    const name = nextCloneName(this.#o.runTag);
    await createDatabaseFrom(this.#o.admin, name, this.#o.template, this.#o.strategy);
    return name;
  }

  #refill(): void {
    const want = Math.min(this.#o.size, this.#expected);
    if (this.#closed || this.#failure !== undefined || this.#ready.length + this.#creating >= want) return;
    this.#creating += 1;
    this.#track(
      this.#create()
        .then((name): AcquiredClone => ({ name, ...(this.#o.warm ? { pool: this.#o.warm(name) } : {}) }))
        .then(
          async (clone) => {
            this.#creating -= 1;
            if (this.#closed) {
              await clone.pool?.end().catch(() => undefined);
              return dropDatabase(this.#o.admin, clone.name).catch(() => undefined);
            }
            this.#ready.push(clone);
            this.#refill();
            return undefined;
          },
          (e: unknown) => {
            this.#creating -= 1;
            this.#failure = e; // on-demand creation reports the error to the caller
          },
        ),
    );
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
