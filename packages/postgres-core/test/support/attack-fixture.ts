// Shared by the database attack suites (proof-attacks, tag-attacks): their own app role and the rows they attack.
import { ensureAppRole, type Queryable } from '../../src/index.js';

/** Tenant a's item ids (a attacks), tenant b's (the victim's), and b's one note. */
export const A_IDS = [1, 2, 3];
export const B_IDS = [11, 12];
export const B_SECRET = 'b secret';

/**
 * Creates `role` as a plain app role with no role-level settings, DML on the
 * test tables and EXECUTE on `current_tenant()`, then seeds items of a and b
 * and one note each (a's `'a note'`, b's {@link B_SECRET}), as the superuser
 * (the fill trigger tags them). Each suite has its own role: role-level
 * settings are cluster-wide, so attacks never touch another file's role.
 */
export async function prepareAttackRole(db: Queryable, role: string, password: string): Promise<void> {
  await ensureAppRole(db, { role, password });
  await db.query(`alter role ${role} reset all`);
  await db.query(`grant select, insert, update, delete on items, notes, plain to ${role}`);
  await db.query(`grant usage, select on all sequences in schema public to ${role}`);
  await db.query(`grant usage on schema stellaops_security to ${role}`);
  await db.query(`grant execute on function stellaops_security.current_tenant() to ${role}`);
  await db.query(
    `insert into items (id, tenant_id, name) select id, case when id < 10 then 'a' else 'b' end, 'row ' || id from unnest($1::int[]) id`,
    [[...A_IDS, ...B_IDS]],
  );
  await db.query(`insert into notes (tenant_id, body) values ('a', 'a note'), ('b', $1)`, [B_SECRET]);
}
