import type pg from 'pg';
import { quoteIdentifier } from '@stellaops/safe-text';

/** How CREATE DATABASE copies the template; FILE_COPY is fastest for small templates on tmpfs. */
export type CloneStrategy = 'FILE_COPY' | 'WAL_LOG';

/** True when a database of that name exists. */
export async function databaseExists(admin: pg.Pool, name: string): Promise<boolean> {
  const r = await admin.query('select 1 from pg_database where datname = $1', [name]);
  return r.rowCount === 1;
}

/**
 * Creates `name` as a copy of `template`, with the template's database-level
 * privileges: CREATE DATABASE copies the contents but not the database's own
 * ACL (e.g. `REVOKE TEMPORARY … FROM PUBLIC` made while migrating), so the
 * clone gets the same grants (one extra query; nothing to do for an untouched ACL).
 */
export async function createDatabaseFrom(admin: pg.Pool, name: string, template: string, strategy: CloneStrategy): Promise<void> {
  await admin.query(`create database ${quoteIdentifier(name)} template ${quoteIdentifier(template)} strategy ${strategy}`);
  const acl = await admin.query<{ custom: boolean; grants: string[] }>(
    `select d.datacl is not null as custom,
            array(select format('grant %s on database %I to %s', p.privilege_type, $2::text,
                                case when p.grantee = 0 then 'public' else quote_ident(r.rolname) end)
                    from aclexplode(d.datacl) p left join pg_roles r on r.oid = p.grantee
                   where p.grantee <> d.datdba) as grants
       from pg_database d where d.datname = $1`,
    [template, name],
  );
  const row = acl.rows[0];
  if (!row?.custom) return;
  await admin.query(`revoke all on database ${quoteIdentifier(name)} from public`);
  for (const grant of row.grants) await admin.query(grant);
}

/** Drops `name`, ending any session still connected to it (a sealed template is unsealed first). */
export async function dropDatabase(admin: pg.Pool, name: string): Promise<void> {
  const sealed = await admin.query('select 1 from pg_database where datname = $1 and datistemplate', [name]);
  if (sealed.rowCount) await admin.query(`alter database ${quoteIdentifier(name)} with is_template false`);
  await admin.query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
}

/** Renames a database (no session may be connected to it). */
export async function renameDatabase(admin: pg.Pool, from: string, to: string): Promise<void> {
  await admin.query(`alter database ${quoteIdentifier(from)} rename to ${quoteIdentifier(to)}`);
}

/** Ends every session connected to `name` (a migration function that left a pool open). */
export async function terminateSessions(admin: pg.Pool, name: string): Promise<void> {
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
}

/** Marks a database as a template that accepts no connections, so cloning it never fails on a stray session. */
export async function sealTemplate(admin: pg.Pool, name: string): Promise<void> {
  await admin.query(`alter database ${quoteIdentifier(name)} with is_template true allow_connections false`);
}

/** Names of the fixture's databases whose name starts with `prefix`. */
export async function listDatabases(admin: pg.Pool, prefix: string): Promise<string[]> {
  const r = await admin.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1) order by datname', [
    prefix,
  ]);
  return r.rows.map((row) => row.datname);
}

/** Tries the session-level advisory lock `key` once; true when taken. */
export async function tryAdvisoryLock(client: pg.ClientBase, key: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [key]);
  return r.rows[0]?.ok === true;
}

/** Releases the session-level advisory lock `key`. */
export async function advisoryUnlock(client: pg.ClientBase, key: string): Promise<void> {
  await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
}
