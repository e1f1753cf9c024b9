import type { RunAs } from '@stellaops/embedded-server';
import type { ClusterLayout } from './layout.js';
import type { ClusterSettings } from './settings.js';
import type { ClusterSecrets, ClusterState } from './state.js';

/** What one component reports. */
export interface ComponentStatus {
  /** Component name (`tls`, `postgres`, `roles`, `pgbouncer`; later `monitoring`, `backups`). */
  readonly name: string;
  /**
   * `running` (a process up and answering), `ready` (files/objects in place, no
   * process of its own), `stopped` (cleanly), `crashed` (should run, but its
   * process is gone), `missing` (not created yet), `disabled` (turned off or
   * its packages are not installed; does not make the cluster unhealthy).
   */
  readonly state: 'running' | 'ready' | 'stopped' | 'crashed' | 'missing' | 'disabled';
  readonly pid?: number;
  readonly port?: number;
  /** TLS state in one phrase (`on (TLSv1.3)`, `verify-full to server`). */
  readonly tls?: string;
  /** Anything else worth one line: pool use, certificate expiry, the log file. */
  readonly detail?: string;
  /** Structured extras (e.g. pool counters, differing settings) for `--json`. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** The processes of a component that runs several (monitoring: exporters, Prometheus). */
  readonly parts?: readonly ComponentStatus[];
}

/** Everything a component needs: where things live, who runs them, the computed settings, ports and secrets. */
export interface ClusterContext {
  readonly layout: ClusterLayout;
  /** The OS user the server and PgBouncer run as (when this process is root). */
  readonly runAs: RunAs | undefined;
  readonly settings: ClusterSettings;
  readonly state: ClusterState;
  readonly secrets: ClusterSecrets;
  /** Paths of external programs (openssl, pgbouncer); overridable for tests. */
  readonly programs: Readonly<Record<string, string>>;
  /** Progress lines for long steps. */
  progress(message: string): void;
  /**
   * The port of a component by name (e.g. `postgres-exporter`): the saved one,
   * else a free port on 127.0.0.1, saved in cluster.json so it stays stable.
   */
  allocatePort(name: string): Promise<number>;
  /**
   * Writes `secrets` (0600) after a component added one (e.g. a monitoring
   * role's password in `secrets.roles`): call it only once the secret is in effect.
   */
  saveSecrets(): void;
}

/**
 * One part of the cluster. `cluster up` starts the components in order,
 * `down` stops them in reverse, `status` asks each. Monitoring (issue 10)
 * and backups (issue 11) plug in as one more component each.
 *
 * @example
 * ```ts
 * const exporter: ClusterComponent = {
 *   name: 'postgres-exporter',
 *   async start(ctx) { … return { name: this.name, state: 'running', port }; },
 *   async stop(ctx) { … },
 *   async status(ctx) { … },
 * };
 * new Cluster({ root, extraComponents: [exporter] });
 * ```
 */
export interface ClusterComponent {
  readonly name: string;
  /** Starts it, or finds it running; idempotent. */
  start(ctx: ClusterContext): Promise<ComponentStatus>;
  /** Stops what it started; a no-op when it is not running. */
  stop(ctx: ClusterContext): Promise<void>;
  /** Reports without changing anything. */
  status(ctx: ClusterContext): Promise<ComponentStatus>;
}
