import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { freePorts } from '@stellaops/embedded-server';
import { Cluster, connectionInfo, parseMemory, type ClusterContext, type ClusterOptions, type ConnectionInfo } from '../src/index.js';

/** A running test cluster in its own folder on tmpfs (reachable by OS user postgres), on random ports. */
export interface TestCluster {
  cluster: Cluster;
  ctx: ClusterContext;
  info: ConnectionInfo;
  ca: string;
  root: string;
  /** A node-pg config for a role, direct or through PgBouncer, TLS verify-full. */
  config(role: 'app' | 'owner', via: 'pgbouncer' | 'direct', extra?: pg.ClientConfig): pg.ClientConfig;
  /** A superuser client over the Unix socket, connected. */
  admin(database?: string): Promise<pg.Client>;
  destroy(): Promise<void>;
}

/** Starts a cluster for one test file (1GiB settings: shared_buffers 256MB). */
export async function startTestCluster(extra: Partial<ClusterOptions> = {}): Promise<TestCluster> {
  const root = `/dev/shm/stellaops-cluster-test-${randomBytes(6).toString('hex')}`;
  // monitoring has its own test (monitoring.test.ts); the others run without it
  const cluster = new Cluster({
    root,
    memoryBytes: parseMemory('1GiB'),
    ports: await freePorts(2).then(([postgres, pgbouncer]) => ({ postgres: postgres!, pgbouncer: pgbouncer! })),
    monitoring: { mode: 'off' },
    ...extra,
  });
  await cluster.up();
  const ctx = await cluster.context();
  const info = connectionInfo(ctx, { showSecrets: true });
  const ca = readFileSync(ctx.layout.tls.caCert, 'utf8');
  return {
    cluster,
    ctx,
    info,
    ca,
    root,
    config(role, via, more = {}) {
      const name = role === 'app' ? info.app.role : info.owner.role;
      return {
        host: 'localhost',
        port: via === 'pgbouncer' ? ctx.state.ports.pgbouncer : ctx.state.ports.postgres,
        user: name,
        password: ctx.secrets.roles[name],
        database: 'stellaops',
        ssl: { ca, rejectUnauthorized: true },
        ...more,
      };
    },
    async admin(database = 'postgres') {
      const c = new pg.Client({
        host: ctx.layout.socketDir,
        port: ctx.state.ports.postgres,
        user: 'postgres',
        password: ctx.secrets.superuser,
        database,
      });
      await c.connect();
      return c;
    },
    async destroy() {
      await cluster.down().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Connects, runs `fn`, always ends the client. */
export async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
