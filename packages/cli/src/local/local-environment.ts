import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { hardenAppRoles, newTenantKey } from '../security/tenant-proof.js';
import { APP_ROLE, DATABASE, OWNER_ROLE } from '@stellaops/cluster';
import type { LocalServer, LocalServerStatus } from '@stellaops/embedded-server';
import { ensureAppRole, formatConnectionUrl, parseConnectionString, quoteIdentifier, TenantKey } from '@stellaops/postgres-core';

/** The database, owner role and app role: the same names as the cluster's (one definition, in @stellaops/cluster). */
export { DATABASE, OWNER_ROLE, APP_ROLE } from '@stellaops/cluster';

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
  /** The tenant key services sign tenant ids with (`.stellaops/tenant-key.json`, generated once). */
  tenantKey: TenantKey;
}

/** File (0600) holding the local tenant key: `{ "keyId": "k1", "key": "…" }`. */
export const TENANT_KEY_FILE = 'tenant-key.json';

/** The saved tenant key, or undefined when `stella-db up` never ran here. */
export function savedTenantKey(stateDir: string): { keyId: string; key: string } | undefined {
  const file = join(stateDir, TENANT_KEY_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keyId: string; key: string }) : undefined;
}

/** The local tenant key: read from its file, or generated (32 random bytes) and written 0600 once — never rotated by a rerun. */
function localTenantKey(stateDir: string): TenantKey {
  let saved = savedTenantKey(stateDir);
  if (!saved) {
    saved = newTenantKey();
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = join(stateDir, `${TENANT_KEY_FILE}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(saved, null, 2), { mode: 0o600 });
    renameSync(tmp, join(stateDir, TENANT_KEY_FILE));
  }
  return new TenantKey(saved.keyId, saved.key);
}

/**
 * Least privilege for the app role in the `stellaops` database, as a superuser
 * (the shared `hardenAppRoles`), then `checkAppRole`'s problems for each role.
 */
export async function hardenLocalAppRoles(adminUrl: string, roles: readonly string[]): Promise<Record<string, string[]>> {
  const c = new pg.Client({ connectionString: withDatabase(adminUrl, DATABASE), application_name: 'stella-db up' });
  await c.connect();
  try {
    return await hardenAppRoles(c, { database: DATABASE, appRole: APP_ROLE, ownerRole: OWNER_ROLE, roles });
  } finally {
    await c.end();
  }
}

function withDatabase(url: string, database: string): string {
  return formatConnectionUrl({ ...parseConnectionString(url), database });
}

/** The saved passwords (read only). */
function savedPasswords(stateDir: string): RolePasswords {
  const file = join(stateDir, 'roles.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RolePasswords) : {};
}

/** Saves the passwords (0600), written only after the roles were given them. */
function savePasswords(stateDir: string, passwords: RolePasswords): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = join(stateDir, `roles.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(passwords, null, 2), { mode: 0o600 });
  renameSync(tmp, join(stateDir, 'roles.json'));
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
export async function prepareLocalEnvironment(args: {
  stateDir: string;
  server: () => LocalServer;
  externalUrl?: string;
  moduleRoles?: readonly string[];
}): Promise<LocalEnvironment> {
  let adminUrl: string;
  let embedded: LocalServerStatus | undefined;
  if (args.externalUrl) {
    adminUrl = args.externalUrl;
  } else {
    embedded = await args.server().up();
    adminUrl = embedded.superuserUrl!;
  }
  const moduleRoles = (args.moduleRoles ?? []).filter((r) => r !== OWNER_ROLE && r !== APP_ROLE);
  const pw = savedPasswords(args.stateDir);
  const fresh = [OWNER_ROLE, APP_ROLE, ...moduleRoles].filter((r) => pw[r] === undefined);
  for (const r of fresh) pw[r] = randomBytes(18).toString('base64url');
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'stella-db up' });
  await admin.connect();
  try {
    // Owner, app role and every role a module's migrations grant to: LOGIN, no superuser, no BYPASSRLS.
    // An existing role keeps its password unless this checkout has none saved yet (no rotation on every up).
    for (const role of [OWNER_ROLE, APP_ROLE, ...moduleRoles]) {
      await ensureAppRole(admin, { role, password: pw[role]!, keepExistingPassword: !fresh.includes(role) });
    }
    if (fresh.length > 0) savePasswords(args.stateDir, pw); // only once the roles have them
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
    tenantKey: localTenantKey(args.stateDir),
  };
}

/** The local environment's URLs without starting or changing anything (undefined when the server is down). */
export function describeLocalEnvironment(
  stateDir: string,
  server: LocalServer,
): { status: LocalServerStatus; ownerUrl?: string; appUrl?: string } {
  const status = server.status();
  if (!status.superuserUrl || !existsSync(join(stateDir, 'roles.json'))) return { status };
  const pw = savedPasswords(stateDir);
  if (pw[OWNER_ROLE] === undefined || pw[APP_ROLE] === undefined) return { status };
  return {
    status,
    ownerUrl: withUser(status.superuserUrl, OWNER_ROLE, pw[OWNER_ROLE], DATABASE),
    appUrl: withUser(status.superuserUrl, APP_ROLE, pw[APP_ROLE], DATABASE),
  };
}
