// Configuration: sources and precedence, and the fail-fast start with every problem listed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@stellaops/postgres-core';
import { describe, expect, it } from 'vitest';

/** A test-only tenant key (never installed anywhere): 32+ characters. */
const TEST_KEY = 'test-only-tenant-key-0123456789abcdef';
import { loadWorkerConfig } from '../src/index.js';
import { WorkerProcess } from './support/worker-process.js';

function configDir(files: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nw-config-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(content));
  return dir;
}

describe('loadWorkerConfig', () => {
  it('merges appsettings.json < appsettings.{Environment}.json < environment, keys in any case, with defaults', () => {
    const dir = configDir({
      'appsettings.json': {
        Persistence: { Notify: 'Postgres' },
        Postgres: { ConnectionString: 'Host=db;Database=stellaops;Username=stellaops_notify_worker', PoolerMode: 'transaction' },
        Worker: { BatchSize: 5, LeaseSeconds: 90, Backoff: { BaseSeconds: 2 } },
      },
      'appsettings.Staging.json': { worker: { batchsize: 7 } },
    });
    const c = loadWorkerConfig({
      configDir: dir,
      env: {
        DOTNET_ENVIRONMENT: 'Staging',
        Postgres__TenantKey: TEST_KEY,
        POSTGRES__TENANTKEYID: 'k7',
        WORKER__LEASESECONDS: '120',
        Worker__MigrateOnStart: 'TRUE',
        Worker__MigrationConnectionString: 'Host=db;Username=stellaops_owner;Password=pw',
      },
    });
    expect(c.worker).toMatchObject({
      batchSize: 7,
      leaseSeconds: 120,
      migrateOnStart: true,
      backoff: { baseSeconds: 2, maxSeconds: 3600 },
      pollIntervalMs: 1000,
      httpPort: 8080,
    });
    expect(c.worker.workerId).toMatch(/-\d+$/);
    expect(c.postgres.poolerMode).toBe('transaction');
    expect(c.postgres.tenantKey?.keyId).toBe('k7');
    expect(JSON.stringify(c)).not.toContain(TEST_KEY);
  });

  it('requires the tenant key (tenant sessions read channels), naming Postgres__TenantKey', () => {
    const e = (() => {
      try {
        loadWorkerConfig({
          configDir: null,
          env: { Persistence__Notify: 'Postgres', Postgres__ConnectionString: 'postgres://w@db/s', Postgres__TenantKeyId: 'k2' },
        });
      } catch (x) {
        return x as ConfigurationError;
      }
      throw new Error('expected a ConfigurationError');
    })();
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.problems.map((p) => p.path)).toEqual(['Postgres.TenantKey']);
    expect(e.message).toContain('Postgres__TenantKey');
    // a key that is too short is reported once, with postgres-core's reason, and not echoed
    const short = (() => {
      try {
        loadWorkerConfig({
          configDir: null,
          env: { Persistence__Notify: 'Postgres', Postgres__ConnectionString: 'postgres://w@db/s', Postgres__TenantKey: 'short-secret-x' },
        });
      } catch (x) {
        return x as ConfigurationError;
      }
      throw new Error('expected a ConfigurationError');
    })();
    expect(short.problems.map((p) => p.path)).toEqual(['Postgres.TenantKey']);
    expect(short.problems[0]!.message).toMatch(/at least 32 characters/);
    expect(short.message).not.toContain('short-secret-x');
  });

  it('lists every problem of every section at once, never a secret value', () => {
    const error = (() => {
      try {
        loadWorkerConfig({
          configDir: null,
          env: {
            Postgres__ConnectionString: 'Host=db;Password=hunter2-secret;Bogus=1',
            Postgres__CommandTimeoutSeconds: '-1',
            Worker__BatchSize: '0',
            Worker__MigrateOnStart: 'true',
            Worker__DeliveryTimeoutSeconds: 'ten',
            Worker__Unknown: 'x',
          },
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    const problems = (error as ConfigurationError).problems.map((p) => p.path).sort();
    expect(problems).toEqual([
      'Persistence.Notify',
      'Postgres.CommandTimeoutSeconds',
      'Postgres.ConnectionString',
      'Postgres.TenantKey',
      'Worker',
      'Worker.BatchSize',
      'Worker.DeliveryTimeoutSeconds',
    ]);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('checks rules across settings (owner connection for migrate-on-start, delivery timeout under the lease)', () => {
    const e = (() => {
      try {
        loadWorkerConfig({
          configDir: null,
          env: {
            Persistence__Notify: 'postgres',
            Postgres__ConnectionString: 'postgres://w@db/s',
            Postgres__TenantKey: TEST_KEY,
            Worker__MigrateOnStart: 'true',
            Worker__LeaseSeconds: '10',
            Worker__DeliveryTimeoutSeconds: '10',
          },
        });
      } catch (x) {
        return x as ConfigurationError;
      }
      throw new Error('expected a ConfigurationError');
    })();
    expect(e.problems.map((p) => p.path).sort()).toEqual(['Worker.DeliveryTimeoutSeconds', 'Worker.MigrationConnectionString']);
  });
});

describe('the service with invalid configuration', () => {
  it('exits 78 before connecting anywhere, with one JSON log line and a human list on stderr naming every problem', async () => {
    const w = WorkerProcess.start(
      {
        Postgres__ConnectionString: 'Host=127.0.0.1;Port=1;Username=x;Password=hunter2-secret;Pooling=maybe',
        Postgres__PoolerMode: 'bouncer',
        Worker__BatchSize: '100000',
        Worker__HttpPort: 'eighty',
      },
      { Persistence: { Notify: 'Mongo' }, Worker: { ShutdownTimeoutSeconds: -5 } },
    );
    expect(await w.exited).toBe(78);
    const fatal = w.lines.find((l) => l.level === 'fatal');
    const paths = (fatal?.problems as Array<{ path: string }>).map((p) => p.path).sort();
    expect(paths).toEqual([
      'Persistence.Notify',
      'Postgres.PoolerMode',
      'Postgres.TenantKey',
      'Worker.BatchSize',
      'Worker.HttpPort',
      'Worker.ShutdownTimeoutSeconds',
    ]);
    expect(w.stderr).toContain('Invalid configuration (6 problems)');
    for (const p of paths) expect(w.stderr).toContain(`- ${p}:`);
    expect(w.stderr).toContain('allowed: none, transaction');
    expect(w.stdout + w.stderr).not.toContain('hunter2');
    expect(w.lines.filter((l) => l.level !== 'fatal')).toEqual([]);
  });
});
