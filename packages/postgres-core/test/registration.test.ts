import { Writable } from 'node:stream';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPoolConfig,
  createDataSource,
  ModuleBackendMismatchError,
  parsePersistenceOptions,
  parsePostgresOptions,
  PersistenceRegistry,
  PoolRegistry,
} from '../src/index.js';
import { APP_PASSWORD, APP_ROLE, coreRlsMigrations, ensureTestRole, type TestDB } from './support/schema.js';

const db = useTestDatabase({ migrations: coreRlsMigrations, scope: 'file' });

beforeAll(async () => {
  await ensureTestRole(db.server.adminConnectionString);
});

describe('PersistenceRegistry', () => {
  it('resolves backends, hands Postgres modules one shared pool, and refuses Mongo modules', async () => {
    const options = parsePersistenceOptions({
      Persistence: { Notify: 'Postgres', Policy: 'postgres' },
      Postgres: {
        ConnectionString: db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD }),
        Pool: { Max: 2 },
        TenantKey: db.server.tenantKey.tenantKey,
        TenantKeyId: db.server.tenantKey.tenantKeyId,
      },
    });
    await using persistence = new PersistenceRegistry(options, new PoolRegistry());
    expect(persistence.resolveModuleBackend('Notify')).toBe('Postgres');
    expect(persistence.resolveModuleBackend('Authority')).toBe('Mongo');
    const notify = persistence.getPostgresDataSource<TestDB>('Notify');
    const policy = persistence.getPostgresDataSource<TestDB>('Policy');
    expect(persistence.getPostgresDataSource<TestDB>('Notify')).toBe(notify);
    expect(notify.pool).toBe(policy.pool);
    expect(notify.module).toBe('Notify');
    expect(await notify.forTenant('acme').selectFrom('items').select('id').execute()).toEqual([]);
    const err = (() => {
      try {
        persistence.getPostgresDataSource('Authority');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ModuleBackendMismatchError);
    expect((err as Error).message).toBe('Module Authority is configured for Mongo (Persistence__Authority=Mongo), not Postgres');
    expect(() => persistence.resolveModuleBackend('Billing' as never)).toThrow(ModuleBackendMismatchError);
  });
});

describe('logging', () => {
  it('logs pool lifecycle through a pino logger without the password', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const url = db.server.urlFor(db.database, { user: APP_ROLE, password: APP_PASSWORD });
    const ds = createDataSource<TestDB>({ connectionString: url, pool: { max: 1 } }, { registry: new PoolRegistry(), logger });
    await ds.db.selectFrom('plain').select('id').execute();
    await ds.close();
    const text = lines.join('');
    expect(text).toContain('PostgreSQL pool created');
    expect(text).toContain(':***@');
    expect(text).not.toContain(APP_PASSWORD);
  });
});

describe('buildPoolConfig', () => {
  it('sends session defaults as startup options only in direct mode', () => {
    const direct = buildPoolConfig(
      parsePostgresOptions({ connectionString: 'Host=h;Database=d;Username=u;Password=p', commandTimeoutSeconds: 5, schema: 'notify' }),
    );
    expect(direct.options).toBe('-c TimeZone=UTC -c statement_timeout=5000 -c search_path=notify,public');
    expect(direct).toMatchObject({
      host: 'h',
      port: 5432,
      database: 'd',
      user: 'u',
      password: 'p',
      max: 10,
      connectionTimeoutMillis: 15000,
    });
    const pooled = buildPoolConfig(parsePostgresOptions({ connectionString: 'Host=h;Password=p', poolerMode: 'transaction' }));
    expect(pooled.options).toBeUndefined();
    expect((pooled as { statement_timeout?: unknown }).statement_timeout).toBeUndefined();
  });

  it('maps TLS modes', () => {
    const ssl = (cs: string, tls: Record<string, string> = {}) => buildPoolConfig(parsePostgresOptions({ connectionString: cs, tls })).ssl;
    expect(ssl('Host=h;SSL Mode=Disable')).toBeUndefined();
    expect(ssl('Host=h;SSL Mode=Require')).toEqual({ rejectUnauthorized: false });
    expect(ssl('postgres://h/d?sslmode=verify-full', { ca: 'CA' })).toEqual({ rejectUnauthorized: true, ca: 'CA' });
    const verifyCa = ssl('Host=h', { mode: 'verify-ca', cert: 'C', key: 'K' }) as {
      rejectUnauthorized: boolean;
      checkServerIdentity: () => unknown;
      cert: string;
    };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
    expect(verifyCa.cert).toBe('C');
  });
});
