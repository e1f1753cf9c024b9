import { archiveStatus } from '@stellaops/backup';
import {
  adminClient,
  APP_ROLE,
  connectionInfo,
  DATABASE,
  OWNER_ROLE,
  type ClusterComponent,
  type ClusterContext,
  type ComponentStatus,
} from '@stellaops/cluster';
import { CURRENT_TENANT_FUNCTION, listTenantKeyIds, TenantKey } from '@stellaops/postgres-core';
import { applyTenantProof, appRoleCheckLine, checkAppRoles, hardenAppRoles, newTenantKey } from '../../security/tenant-proof.js';

/**
 * The tenant proof in the cluster's `stellaops` database, the same code path
 * as `stella-db up`: postgres-core's `securityMigrations` applied as the owner
 * (direct, TLS verify-full), the tenant key generated once into secrets.json
 * (0600, saved before it is installed, never rotated by a rerun) and
 * installed; then the app role hardened and checked as the superuser over the
 * socket. `status` re-checks both (read only).
 */
export class TenantSecurityComponent implements ClusterComponent {
  readonly name = 'security';
  readonly #roles: readonly string[];

  /** @param moduleRoles roles the modules' migrations grant to, checked like the app role */
  constructor(moduleRoles: readonly string[] = []) {
    this.#roles = [...new Set([APP_ROLE, ...moduleRoles.filter((r) => r !== OWNER_ROLE)])];
  }

  async start(ctx: ClusterContext): Promise<ComponentStatus> {
    if (!ctx.secrets.tenantKey) {
      ctx.secrets.tenantKey = newTenantKey();
      ctx.saveSecrets(); // before installing: a key in the database is never without its saved secret
    }
    const { keyId, key } = ctx.secrets.tenantKey;
    ctx.progress(`tenant proof: security migrations as ${OWNER_ROLE}, tenant key ${keyId}`);
    await applyTenantProof({
      ownerUrl: connectionInfo(ctx, { showSecrets: true }).owner.url,
      key: new TenantKey(keyId, key),
      applicationName: 'stella-db cluster up',
    });
    const admin = adminClient(ctx, DATABASE);
    await admin.connect();
    try {
      const problems = await hardenAppRoles(admin, { database: DATABASE, appRole: APP_ROLE, ownerRole: OWNER_ROLE, roles: this.#roles });
      return this.#report(ctx, problems, await listTenantKeyIds(admin));
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    // objects in the database: nothing runs
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    const admin = adminClient(ctx, DATABASE);
    try {
      await admin.connect();
      const schema = await admin.query<{ ok: boolean }>(`select to_regclass('stellaops_security.tenant_keys') is not null as ok`);
      const keys = schema.rows[0]?.ok ? await listTenantKeyIds(admin) : [];
      return this.#report(ctx, await checkAppRoles(admin, this.#roles), keys);
    } catch {
      return { name: this.name, state: 'stopped', detail: `database ${DATABASE} not reachable (server down?)` };
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  #report(ctx: ClusterContext, checked: Record<string, string[]>, installed: string[]): ComponentStatus {
    // A module role gets EXECUTE on current_tenant() from its module's migrations, which `cluster up` does not
    // apply (a migration job does): until then that one finding is a note, not a failure. Everything else fails.
    const problems: Record<string, string[]> = {};
    const waiting: string[] = [];
    for (const [role, list] of Object.entries(checked)) {
      const grantPending = role !== APP_ROLE && list.some((p) => p.includes(CURRENT_TENANT_FUNCTION));
      if (grantPending) waiting.push(role);
      problems[role] = role === APP_ROLE ? list : list.filter((p) => !p.includes(CURRENT_TENANT_FUNCTION));
    }
    const keyId = ctx.secrets.tenantKey?.keyId;
    const keyOk = keyId !== undefined && installed.includes(keyId);
    const rolesOk = Object.values(problems).every((p) => p.length === 0);
    const key =
      keyId === undefined
        ? 'tenant key: none yet (stella-db cluster up)'
        : `tenant key ${keyId}: ${keyOk ? 'installed' : 'NOT installed (stella-db cluster up)'}`;
    const note =
      waiting.length > 0 ? `; ${waiting.join(', ')}: ${CURRENT_TENANT_FUNCTION} granted by its module's migrations (not applied yet)` : '';
    return {
      name: this.name,
      state: keyOk && rolesOk ? 'ready' : 'missing',
      detail: `${key}; ${appRoleCheckLine(problems)}${note}`,
      data: { tenantKeyId: keyId ?? null, installedKeyIds: installed, roleCheck: checked, awaitingModuleMigrations: waiting },
    };
  }
}

/**
 * WAL archiving as `cluster status` shows it (`@stellaops/backup`'s
 * `archiveStatus`: archived/failed counts, last archived segment, warnings).
 * Nothing to start: the postgres component configures archiving.
 */
export class ArchiverComponent implements ClusterComponent {
  readonly name = 'archiver';

  start(ctx: ClusterContext): Promise<ComponentStatus> {
    return this.status(ctx);
  }

  async stop(): Promise<void> {
    // PostgreSQL's archiver stops with the server
  }

  async status(ctx: ClusterContext): Promise<ComponentStatus> {
    let s;
    try {
      s = await archiveStatus(
        {
          host: ctx.layout.socketDir,
          port: ctx.state.ports.postgres,
          user: 'postgres',
          database: 'postgres',
          password: ctx.secrets.superuser,
        },
        ctx.layout.walArchiveDir,
        ctx.layout.dataDir,
      );
    } catch {
      return { name: this.name, state: 'stopped', detail: 'server not reachable (down?)' };
    }
    const last = s.lastArchivedWal ? `last ${s.lastArchivedWal}` : 'nothing archived yet';
    const failed = s.failedCount > 0 ? `, ${s.failedCount} failed (last ${s.lastFailedWal})` : '';
    const pending = s.pendingSegments !== null ? `, ${s.pendingSegments} pending` : '';
    return {
      name: this.name,
      state: s.ok ? 'ready' : 'missing', // not archiving: a backup taken now could not be restored
      detail: `archive_mode=${s.archiveMode}, ${s.archivedCount} archived, ${last}${failed}${pending}${s.warnings.length ? ` — ${s.warnings.join(' ')}` : ''}`,
      data: { ...s },
    };
  }
}

/** The components the CLI adds to every cluster: the tenant proof, then the archiver's state. */
export function cliComponents(moduleRoles: readonly string[] = []): ClusterComponent[] {
  return [new TenantSecurityComponent(moduleRoles), new ArchiverComponent()];
}
