import type { ClusterContext } from './component.js';
import { DATABASE } from './postgres-component.js';
import { APP_ROLE, OWNER_ROLE } from './roles-component.js';

/** How one role connects, in the forms operators use. */
export interface ConnectionForms {
  /** Who and through what (`app via PgBouncer`, `owner direct`). */
  readonly purpose: string;
  readonly role: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** libpq/psql URL with `sslmode=verify-full&sslrootcert=<CA>`. */
  readonly url: string;
  /** Npgsql keyword string (`SSL Mode=VerifyFull;Root Certificate=<CA>`). */
  readonly npgsql: string;
  /**
   * `Postgres__…` environment lines for the StellaOps data layer (`Postgres__Tls__CaFile` carries the CA);
   * the app's also `Postgres__TenantKey` (hidden unless `showSecrets`) and `Postgres__TenantKeyId`.
   */
  readonly envLines: readonly string[];
}

/** The cluster's connection information: the app role through PgBouncer, the owner direct (migrations refuse PgBouncer). */
export interface ConnectionInfo {
  readonly caFile: string;
  readonly app: ConnectionForms;
  readonly owner: ConnectionForms;
}

/** Marks a hidden password. */
export const HIDDEN = '***';

/**
 * What a service and a migration job need to connect, with passwords only
 * when `showSecrets` is set (otherwise `***`). Host `localhost` matches the
 * server certificate's SAN, so `sslmode=verify-full` checks it.
 *
 * @example
 * ```ts
 * const info = connectionInfo(await cluster.context(), { showSecrets: false });
 * info.app.url; // 'postgres://stellaops_app:***@localhost:6432/stellaops?sslmode=verify-full&sslrootcert=/…/ca.crt'
 * ```
 */
export function connectionInfo(
  ctx: Pick<ClusterContext, 'layout' | 'state' | 'secrets'>,
  options: { showSecrets: boolean },
): ConnectionInfo {
  const ca = ctx.layout.tls.caCert;
  const tk = ctx.secrets.tenantKey;
  // services sign tenant ids with the tenant key (the owner runs migrations and needs none)
  const tenantLines = tk ? [`Postgres__TenantKey=${options.showSecrets ? tk.key : HIDDEN}`, `Postgres__TenantKeyId=${tk.keyId}`] : [];
  const forms = (purpose: string, role: string, port: number, pooled: boolean): ConnectionForms => {
    const pw = options.showSecrets ? (ctx.secrets.roles[role] ?? '') : HIDDEN;
    const urlPw = options.showSecrets ? encodeURIComponent(pw) : HIDDEN;
    const base = `Host=localhost;Port=${port};Database=${DATABASE};Username=${role};Password=${npgsqlQuote(pw)};SSL Mode=VerifyFull`;
    return {
      purpose,
      role,
      host: 'localhost',
      port,
      database: DATABASE,
      url: `postgres://${role}:${urlPw}@localhost:${port}/${DATABASE}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`,
      npgsql: `${base};Root Certificate=${ca}${pooled ? ';No Reset On Close=true' : ''}`,
      envLines: [
        `Postgres__ConnectionString=${base}`,
        `Postgres__Tls__CaFile=${ca}`,
        ...(pooled ? ['Postgres__PoolerMode=transaction', ...tenantLines] : []),
      ],
    };
  };
  return {
    caFile: ca,
    app: forms('services: app role through PgBouncer (transaction pooling)', APP_ROLE, ctx.state.ports.pgbouncer, true),
    owner: forms(
      'migrations: owner role direct to PostgreSQL (the migrator refuses PgBouncer)',
      OWNER_ROLE,
      ctx.state.ports.postgres,
      false,
    ),
  };
}

function npgsqlQuote(value: string): string {
  return /[;"'\s=]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
