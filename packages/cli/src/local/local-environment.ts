import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalServer, type LocalServerStatus } from '@stellaops/embedded-server';
import { ensureAppRole, formatConnectionUrl, parseConnectionString, quoteIdentifier } from '@stellaops/postgres-core';

/** Database the modules live in. */
export const DATABASE = 'stellaops';
/** Role that runs migrations and owns the database, schemas and tables. */
export const OWNER_ROLE = 'stellaops_owner';
/** Role services connect as: owns nothing, cannot bypass row level security. */
export const APP_ROLE = 'stellaops_app';

/** Passwords of the local roles by role name, kept in `.stellaops/roles.json` (mode 0600). */
type RolePasswords = Record<string, string>;

/** Where the local environment stands: the server and the connection strings of its roles. */
export interface LocalEnvironment {
  /** `embedded` (the local server) or `external` (`Postgres__ConnectionString`). */
  server: 'embedded' | 'external';
  /** State of the embedded server, when used. */
  embedded?: LocalServerStatus;
  /** Superuser (or given) connection to the maintenance database. */
  adminUrl: string;
  /** Owner role's URL of the `stellaops` database (migrations). */
  ownerUrl: string;
  /** App role's URL of the `stellaops` database (services). */
  appUrl: string;
}

/** The saved passwords, with a new random one for each role in `roles` that has none yet (listed in `fresh`). */
function passwords(stateDir: string, roles: readonly string[] = [OWNER_ROLE, APP_ROLE], fresh: string[] = []): RolePasswords {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'roles.json');
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RolePasswords) : {};
  const missing = roles.filter((r) => saved[r] === undefined);
  if (missing.length === 0) return saved;
  for (const r of missing) saved[r] = randomBytes(18).toString('base64url');
  fresh.push(...missing);
  writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return saved;
}

function withUser(url: string, user: string, password: string, database: string): string {
  return formatConnectionUrl({ ...parseConnectionString(url), user, password, database });
}

/**
 * Makes the local environment ready: starts the embedded server (or takes
 * `externalUrl`), creates the owner and app roles and the `stellaops`
 * database when missing. Idempotent; role names and passwords are bound
 * parameters, quoted server-side.
 */
export async function prepareLocalEnvironment(args: { stateDir: string; externalUrl?: string; moduleRoles?: readonly string[] }): Promise<LocalEnvironment> {
  let adminUrl: string;
  let embedded: LocalServerStatus | undefined;
  if (args.externalUrl) {
    adminUrl = args.externalUrl;
  } else {
    embedded = await new LocalServer({ rootDir: args.stateDir }).up();
    adminUrl = embedded.superuserUrl!;
  }
  const moduleRoles = (args.moduleRoles ?? []).filter((r) => r !== OWNER_ROLE && r !== APP_ROLE);
  const fresh: string[] = [];
  const pw = passwords(args.stateDir, [OWNER_ROLE, APP_ROLE, ...moduleRoles], fresh);
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'stella-db up' });
  await admin.connect();
  try {
    // Owner, app role and every role a module's migrations grant to: LOGIN, no superuser, no BYPASSRLS.
    // An existing role keeps its password unless this checkout has none saved yet (no rotation on every up).
    for (const role of [OWNER_ROLE, APP_ROLE, ...moduleRoles]) {
      await ensureAppRole(admin, { role, password: pw[role]!, keepExistingPassword: !fresh.includes(role) });
    }
    const db = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (!db.rowCount) await admin.query(`create database ${quoteIdentifier(DATABASE)} owner ${quoteIdentifier(OWNER_ROLE)}`);
    await admin.query(`grant connect on database ${quoteIdentifier(DATABASE)} to ${quoteIdentifier(APP_ROLE)}`);
  } finally {
    await admin.end();
  }
  return {
    server: args.externalUrl ? 'external' : 'embedded',
    ...(embedded ? { embedded } : {}),
    adminUrl,
    ownerUrl: withUser(adminUrl, OWNER_ROLE, pw[OWNER_ROLE]!, DATABASE),
    appUrl: withUser(adminUrl, APP_ROLE, pw[APP_ROLE]!, DATABASE),
  };
}

/** The local environment's URLs without starting or changing anything (undefined when the server is down). */
export function describeLocalEnvironment(stateDir: string): { status: LocalServerStatus; ownerUrl?: string; appUrl?: string } {
  const status = new LocalServer({ rootDir: stateDir }).status();
  if (!status.superuserUrl || !existsSync(join(stateDir, 'roles.json'))) return { status };
  const pw = passwords(stateDir);
  return {
    status,
    ownerUrl: withUser(status.superuserUrl, OWNER_ROLE, pw[OWNER_ROLE]!, DATABASE),
    appUrl: withUser(status.superuserUrl, APP_ROLE, pw[APP_ROLE]!, DATABASE),
  };
}
