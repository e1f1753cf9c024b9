/**
 * Column names qualified with a table alias, typed so Kysely accepts them in
 * `select`/`returning` of a query that joins or aliases the table (`update …
 * from`, self-joins) — for modules that list their columns explicitly.
 *
 * @example
 * ```ts
 * const COLUMNS = ['tenant_id', 'id', 'name'] as const;
 * db.selectFrom('notify.rules as r').innerJoin('notify.channels as c', 'c.id', 'r.channel_id').select(qualifiedColumns('r', COLUMNS));
 * qualifiedColumns('r', COLUMNS); // ['r.tenant_id', 'r.id', 'r.name']
 * ```
 */
export function qualifiedColumns<const A extends string, const C extends string>(alias: A, columns: readonly C[]): Array<`${A}.${C}`> {
  return columns.map((c): `${A}.${C}` => `${alias}.${c}`);
}
