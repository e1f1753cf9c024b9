import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { MonitoringConfigError } from './errors.js';

/** Default name of the least-privilege monitoring role. */
export const DEFAULT_MONITORING_ROLE = 'stellaops_monitor';

/** Schema holding monitoring state written by other tools (the last successful backup). */
export const MONITORING_SCHEMA = 'stellaops_monitoring';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Options of {@link monitoringSetupStatements}. */
export interface MonitoringSetupOptions {
  /** Login role the exporter (and `collectTop`) use; default `stellaops_monitor`. */
  role?: string;
  /** Its password. Only a SCRAM-SHA-256 verifier of it is sent to the server. */
  password: string;
  /**
   * Role the backup tool runs as, allowed to call
   * `stellaops_monitoring.record_backup_success()`; superusers always can.
   */
  backupRole?: string;
  /** Maximum sessions of the monitoring role; default 5. */
  connectionLimit?: number;
}

/**
 * A SCRAM-SHA-256 verifier of `password` in PostgreSQL's format
 * (`SCRAM-SHA-256$4096:salt$StoredKey:ServerKey`), so `ALTER ROLE … PASSWORD`
 * never carries the password itself (not in the server log, not in
 * pg_stat_statements).
 *
 * @example
 * ```ts
 * scramSha256Verifier('correct horse battery staple'); // 'SCRAM-SHA-256$4096:…'
 * ```
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function validate(options: MonitoringSetupOptions): { role: string; backupRole: string | undefined; limit: number } {
  const problems: string[] = [];
  const role = options.role ?? DEFAULT_MONITORING_ROLE;
  if (!IDENTIFIER.test(role))
    problems.push(
      `role "${role}" is not a plain lower-case SQL identifier: use letters, digits and _ (e.g. "${DEFAULT_MONITORING_ROLE}").`,
    );
  if (options.backupRole !== undefined && !IDENTIFIER.test(options.backupRole)) {
    problems.push(`backupRole "${options.backupRole}" is not a plain lower-case SQL identifier: use letters, digits and _.`);
  }
  if (typeof options.password !== 'string' || options.password.length < 16 || !/^[\x21-\x7e]+$/.test(options.password)) {
    problems.push(
      'password must be at least 16 printable ASCII characters without spaces: generate one (e.g. randomBytes(24).toString("base64url")).',
    );
  }
  const limit = options.connectionLimit ?? 5;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) problems.push(`connectionLimit ${limit} must be an integer from 1 to 100.`);
  if (problems.length) throw new MonitoringConfigError(problems);
  return { role, backupRole: options.backupRole, limit };
}

/**
 * The SQL, in order, that sets up monitoring in one database (run it as a
 * superuser, in the database the exporter connects to; it is idempotent):
 *
 * - a login role that is only a member of `pg_monitor` (read-only sessions,
 *   10 s statement timeout, a small connection limit), password as a SCRAM verifier;
 * - the `pg_stat_statements` extension (the server must preload the library);
 * - schema `stellaops_monitoring` with `backup_status` and
 *   `record_backup_success(finished_at timestamptz DEFAULT now())`, the source
 *   of `stellaops_backup_last_success_timestamp_seconds`.
 *
 * @example
 * ```ts
 * for (const sql of monitoringSetupStatements({ password })) await superuser.query(sql);
 * ```
 */
export function monitoringSetupStatements(options: MonitoringSetupOptions): string[] {
  const { role, backupRole, limit } = validate(options);
  const verifier = scramSha256Verifier(options.password);
  const s = MONITORING_SCHEMA;
  const statements = [
    `DO $do$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '${role}') THEN
    CREATE ROLE ${role} LOGIN;
  END IF;
END $do$`,
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${limit} PASSWORD '${verifier}'`,
    `GRANT pg_monitor TO ${role}`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on`,
    `ALTER ROLE ${role} SET statement_timeout = '10s'`,
    `ALTER ROLE ${role} SET lock_timeout = '1s'`,
    'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`,
    `CREATE TABLE IF NOT EXISTS ${s}.backup_status (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_success_at timestamptz NOT NULL
)`,
    `REVOKE ALL ON ${s}.backup_status FROM PUBLIC`,
    `CREATE OR REPLACE FUNCTION ${s}.record_backup_success(finished_at timestamptz DEFAULT now()) RETURNS void
LANGUAGE sql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
  INSERT INTO ${s}.backup_status AS b (id, last_success_at) VALUES (true, finished_at)
  ON CONFLICT (id) DO UPDATE SET last_success_at = greatest(b.last_success_at, excluded.last_success_at)
$fn$`,
    `REVOKE ALL ON FUNCTION ${s}.record_backup_success(timestamptz) FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA ${s} TO ${role}`,
    `GRANT SELECT ON ${s}.backup_status TO ${role}`,
  ];
  if (backupRole) {
    statements.push(
      `GRANT USAGE ON SCHEMA ${s} TO ${backupRole}`,
      `GRANT SELECT, INSERT, UPDATE ON ${s}.backup_status TO ${backupRole}`,
      `GRANT EXECUTE ON FUNCTION ${s}.record_backup_success(timestamptz) TO ${backupRole}`,
    );
  }
  return statements;
}

/** The part of a `pg` client (or pool) that {@link ensureMonitoringSetup} needs. */
export interface SqlRunner {
  query(sql: string): Promise<unknown>;
}

/**
 * Runs {@link monitoringSetupStatements} in one transaction on a superuser
 * connection to the exporter's database.
 *
 * @example
 * ```ts
 * const c = new pg.Client(superuserUrl); await c.connect();
 * await ensureMonitoringSetup(c, { password: monitorPassword, backupRole: 'stellaops_backup' });
 * ```
 */
export async function ensureMonitoringSetup(client: SqlRunner, options: MonitoringSetupOptions): Promise<void> {
  const statements = monitoringSetupStatements(options);
  await client.query('BEGIN');
  try {
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
