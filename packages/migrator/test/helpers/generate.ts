import type { Migration } from '../../src/index.js';

/** Zero-padded migration id `V0001_Step`. */
export function idOf(i: number): string {
  return `V${String(i).padStart(4, '0')}_Step`;
}

/**
 * `count` SQL migrations on `schema`; each creates a table and logs its id in
 * `<schema>.applied_log` (no unique key: a double application shows as 2 rows).
 * `concurrentlyEvery` > 0 makes every n-th one a no-transaction `CREATE INDEX CONCURRENTLY`.
 */
export function generateMigrations(
  schema: string,
  count: number,
  opts: { concurrentlyEvery?: number; sleepMs?: number; from?: number } = {},
): Migration[] {
  const out: Migration[] = [];
  const from = opts.from ?? 1;
  for (let i = from; i < from + count; i++) {
    const id = idOf(i);
    if (i === 1) {
      out.push({
        id,
        up: `create table ${schema}.applied_log (id text not null, at timestamptz not null default clock_timestamp()); insert into ${schema}.applied_log(id) values ('${id}');`,
        down: `drop table ${schema}.applied_log`,
      });
      continue;
    }
    if (opts.concurrentlyEvery && i % opts.concurrentlyEvery === 0) {
      out.push({
        id,
        transaction: false,
        up: `create index concurrently if not exists applied_log_idx_${i} on ${schema}.applied_log (id, at)`,
      });
      continue;
    }
    out.push({
      id,
      up:
        `create table ${schema}.t_${i} (id int primary key, v text);\n` +
        `insert into ${schema}.t_${i} select g, 'x' from generate_series(1, 200) g;\n` +
        (opts.sleepMs ? `select pg_sleep(${opts.sleepMs / 1000});\n` : '') +
        `insert into ${schema}.applied_log(id) values ('${id}');`,
      down: `drop table ${schema}.t_${i}; delete from ${schema}.applied_log where id = '${id}';`,
    });
  }
  return out;
}
