import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, loadPersistenceOptions, type ConfigProblem } from '../src/index.js';

const SECRET = 'Sup3r-Secret-Pw';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgcore-cfg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): readonly ConfigProblem[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    const err = e as ConfigurationError;
    expect(`${err.message}\n${JSON.stringify(err.problems)}\n${err.stack}`).not.toContain(SECRET);
    return err.problems;
  }
  throw new Error('expected a ConfigurationError');
}

describe('loadPersistenceOptions', () => {
  it('defaults every module to Mongo and needs no Postgres section then', () => {
    const o = loadPersistenceOptions({ configDir: dir, env: {} });
    expect(o.persistence).toEqual({
      Authority: 'Mongo',
      Scheduler: 'Mongo',
      Concelier: 'Mongo',
      Excititor: 'Mongo',
      Notify: 'Mongo',
      Policy: 'Mongo',
    });
    expect(o.postgres).toBeUndefined();
  });

  it('layers defaults < appsettings.json < appsettings.{Environment}.json < env vars (case-insensitive, prefix)', () => {
    writeFileSync(
      join(dir, 'appsettings.json'),
      JSON.stringify({
        Logging: { LogLevel: 'Information' },
        Persistence: { Authority: 'Postgres', Notify: 'Postgres', Policy: 'Postgres' },
        Postgres: { ConnectionString: 'Host=file;Database=stellaops;Username=u;Password=p', CommandTimeoutSeconds: 10, Pool: { Max: 5 } },
      }),
    );
    writeFileSync(
      join(dir, 'appsettings.Staging.json'),
      JSON.stringify({ persistence: { notify: 'mongo' }, postgres: { commandTimeoutSeconds: 20 } }),
    );
    const o = loadPersistenceOptions({
      configDir: dir,
      env: {
        DOTNET_ENVIRONMENT: 'Staging',
        STELLAOPS_PERSISTENCE__POLICY: 'mongo',
        stellaops_postgres__pool__max: '7',
        STELLAOPS_Postgres__ConnectionString: 'postgres://env:pw@envhost/db',
        Persistence__Scheduler: 'Postgres', // no prefix: ignored
      },
      envPrefix: 'STELLAOPS_',
    });
    expect(o.persistence).toMatchObject({ Authority: 'Postgres', Notify: 'Mongo', Policy: 'Mongo', Scheduler: 'Mongo' });
    expect(o.postgres).toMatchObject({
      connectionString: 'postgres://env:pw@envhost/db',
      commandTimeoutSeconds: 20,
      pool: { max: 7, min: 0 },
    });
  });

  it('reports every problem at once with paths and allowed values, never the password', () => {
    writeFileSync(join(dir, 'appsettings.json'), JSON.stringify({ Persistence: { Concelier: 'Postgre', Excititor: 42 } }));
    const problems = problemsOf(() =>
      loadPersistenceOptions({
        configDir: dir,
        env: {
          Persistence__Notify: 'Postgres',
          Persistence__Notfy: 'Postgres',
          Postgres__ConnectionString: `Host=;Passwrd=${SECRET}`,
          Postgres__CommandTimeoutSeconds: '-5',
          Postgres__Pool__Max: 'lots',
          Postgres__PoolerMode: 'statement',
        },
      }),
    );
    const byPath = (p: string) => problems.filter((x) => x.path === p);
    expect(byPath('Persistence.Concelier')[0]?.allowed).toEqual(['Mongo', 'Postgres']);
    expect(byPath('Persistence.Excititor')).toHaveLength(1);
    expect(problems.some((p) => p.path === 'Persistence' && p.message.includes('Notfy'))).toBe(true);
    expect(byPath('Postgres.ConnectionString').map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('Passwrd: unknown keyword'), expect.stringContaining('Host: is required')]),
    );
    expect(byPath('Postgres.CommandTimeoutSeconds')).toHaveLength(1);
    expect(byPath('Postgres.Pool.Max')).toHaveLength(1);
    expect(byPath('Postgres.PoolerMode')[0]?.allowed).toEqual(['none', 'transaction']);
  });

  it('requires a connection string as soon as one module uses Postgres', () => {
    const problems = problemsOf(() =>
      loadPersistenceOptions({ configDir: null, env: { Persistence__Notify: 'postgres', Persistence__Policy: 'POSTGRES' } }),
    );
    expect(problems).toEqual([{ path: 'Postgres.ConnectionString', message: 'is required because Notify, Policy use Postgres' }]);
  });

  it('reports malformed JSON with the file and position only', () => {
    writeFileSync(join(dir, 'appsettings.json'), `{ "Postgres": { "ConnectionString": "Password=${SECRET}" `);
    const problems = problemsOf(() => loadPersistenceOptions({ configDir: dir, env: { Persistence__Notify: 'Bogus' } }));
    expect(problems[0]?.path).toBe(join(dir, 'appsettings.json'));
    expect(problems[0]?.message).toMatch(/^invalid JSON/);
    expect(problems.some((p) => p.path === 'Persistence.Notify')).toBe(true);
  });

  it.each([
    [
      {
        Postgres__ConnectionString: `postgres://u:${SECRET}@h/db`,
        Postgres__ConnectionTimeoutSeconds: '0',
        Persistence__Notify: 'Postgres',
      },
      'Postgres.ConnectionTimeoutSeconds',
    ],
    [{ Postgres__ConnectionString: `Host=h;Password=${SECRET};Port=-1`, Persistence__Notify: 'Postgres' }, 'Postgres.ConnectionString'],
    [
      { Postgres__ConnectionString: `Host=h;Password=${SECRET}`, Postgres__Tls__Mode: 'on', Persistence__Notify: 'Postgres' },
      'Postgres.Tls.Mode',
    ],
    [{ Postgres__ConnectionString: `Host=h;Password=${SECRET}`, Postgres__Pool__Min: '9', Postgres__Pool__Max: '3' }, 'Postgres.Pool.Min'],
    [{ Postgres__ConnectionString: `Host=h;Password=${SECRET}`, Postgres__Bogus: '1' }, 'Postgres'],
  ])('flags %j at %s', (env, path) => {
    const problems = problemsOf(() => loadPersistenceOptions({ configDir: null, env }));
    expect(problems.map((p) => p.path)).toContain(path);
  });
});

describe('tenant key configuration', () => {
  const url = 'postgres://app:pw@127.0.0.1:5432/stellaops';

  it('reads Postgres__TenantKey and Postgres__TenantKeyId from the environment and never prints the key', () => {
    const secret = 'env-tenant-key-0123456789-0123456789-xyz';
    const o = loadPersistenceOptions({
      configDir: null,
      env: { Persistence__Notify: 'Postgres', Postgres__ConnectionString: url, Postgres__TenantKey: secret, Postgres__TenantKeyId: 'k2' },
    });
    expect(o.postgres?.tenantKey?.keyId).toBe('k2');
    expect(o.postgres?.tenantKey?.proofFor('acme')).toMatch(/^k2\.[0-9a-f]{64}$/);
    expect(JSON.stringify(o)).not.toContain(secret);
    expect(String(o.postgres?.tenantKey)).toBe('TenantKey(k2, ***)');
  });

  it('rejects a short key or a bad key id without echoing them', () => {
    const problems = problemsOf(() =>
      loadPersistenceOptions({
        configDir: null,
        env: {
          Persistence__Notify: 'Postgres',
          Postgres__ConnectionString: url,
          Postgres__TenantKey: 'short-secret',
          Postgres__TenantKeyId: 'a.b',
        },
      }),
    );
    const text = JSON.stringify(problems);
    expect(text).toContain('TenantKey');
    expect(text).toMatch(/at least 32 characters/);
    expect(text).toMatch(/TenantKeyId/);
    expect(text).not.toContain('short-secret');
  });
});
