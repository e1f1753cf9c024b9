import { Kysely, PostgresDialect } from 'kysely';
import type { Queryable } from '../sql/queryable.js';

/** Called before each query a Kysely migration step sends; may throw to refuse it. */
export type QueryGuard = (sql: string) => void;

/**
 * A `Kysely` whose every query goes to one given connection (the runner's,
 * which holds the migration lock and owns the transaction). `guard` sees each
 * query first.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function singleClientKysely(client: Queryable, guard?: QueryGuard): Kysely<any> {
  const facade = {
    query: (text: unknown, values?: unknown[]) => {
      if (guard && typeof text === 'string') guard(text);
      return client.query(text as string, values);
    },
    release: () => {},
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return new Kysely<any>({
    dialect: new PostgresDialect({
      pool: { connect: async () => facade, end: async () => {} } as never,
    }),
  });
}
