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
}

/**
 * Ready copies of one template, refilled in the background. `acquire` hands
 * out a ready clone at once when there is one, else creates one on demand;
 * `release` drops it (or keeps it under a `fx_keep_` name) without making the
 * caller wait. Prefills only as many clones as are still expected (`expect`),
 * so no clone is made that nobody will use.
 */
export class ClonePool {
  readonly #o: Required<ClonePoolOptions>;
  readonly #ready: string[] = [];
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

  /** A clone for exclusive use; give it back with {@link release}. */
  async acquire(): Promise<string> {
    if (this.#closed) throw new FixtureError('FIXTURE_CLOSED', 'ClonePool is closed: acquire databases before the factory or pool is closed');
    if (this.#expected > 0) this.#expected -= 1;
    const name = this.#ready.shift() ?? (await this.#create());
    this.#refill();
    return name;
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
    await Promise.allSettled(this.#ready.splice(0).map((n) => dropDatabase(this.#o.admin, n)));
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
      this.#create().then(
        (name) => {
          this.#creating -= 1;
          if (this.#closed) return dropDatabase(this.#o.admin, name).catch(() => undefined);
          this.#ready.push(name);
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
