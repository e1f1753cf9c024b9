import { createHash } from 'node:crypto';

/**
 * Names for server-side prepared statements, by SQL text ("auto-prepare", like
 * Npgsql's): the first `capacity` distinct statement texts of the process get a
 * stable name; each connection parses a named statement once and afterwards
 * only binds and executes it (no parse/plan per call). Statements beyond the
 * capacity run unnamed. Disabled behind a transaction pooler (PgBouncer 1.18
 * does not track prepared statements across server connections).
 *
 * @internal
 */
export class StatementNames {
  readonly #names = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The statement name for `sql`, or undefined when the cache is full. */
  nameFor(sql: string): string | undefined {
    const hit = this.#names.get(sql);
    if (hit !== undefined || this.#names.size >= this.#capacity) return hit;
    const name = `stellaops_q_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.#names.set(sql, name);
    return name;
  }
}
