import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InvalidConnectionStringError,
  normalizeConnectionString,
  parseConnectionString,
  parsePostgresOptions,
  redactConnectionString,
} from '../src/index.js';

const SECRET = 'hunter2-S3cr3t';

describe('normalizeConnectionString', () => {
  it('turns the seed template keyword string into a postgres:// URL', () => {
    expect(normalizeConnectionString('Host=localhost;Port=5432;Database=stellaops;Username=stella;Password=stella')).toBe(
      'postgres://stella:stella@localhost:5432/stellaops',
    );
  });

  it('accepts case-insensitive keys, aliases, spaces and quoted values with ; = and doubled quotes', () => {
    const url = normalizeConnectionString(
      ` server = db.internal ; PORT=6432; database="stella ops";User Id=app; PASSWORD='p;w=d''x'; ssl mode=VerifyFull;Application Name=notify;Timeout=7`,
    );
    expect(url).toBe(
      "postgres://app:p%3Bw%3Dd'x@db.internal:6432/stella%20ops?sslmode=verify-full&application_name=notify&connect_timeout=7",
    );
    const back = parseConnectionString(url);
    expect(back.password).toBe("p;w=d'x");
    expect(back.database).toBe('stella ops');
  });

  it('keeps pool/timeout keywords available through parseConnectionString', () => {
    const c = parseConnectionString('Host=h;Maximum Pool Size=20;Minimum Pool Size=2;Command Timeout=45;Pooling=true');
    expect(c).toMatchObject({ host: 'h', port: 5432, maxPoolSize: 20, minPoolSize: 2, commandTimeoutSeconds: 45 });
  });

  it('keeps the CA file (URL sslrootcert, Npgsql Root Certificate) so verify-full can check a private CA', () => {
    expect(normalizeConnectionString('postgres://u:p@localhost:5432/db?sslmode=verify-full&sslrootcert=%2Fc%2Fca.crt')).toBe(
      'postgres://u:p@localhost:5432/db?sslmode=verify-full&sslrootcert=%2Fc%2Fca.crt',
    );
    expect(parseConnectionString('Host=localhost;Database=db;SSL Mode=VerifyFull;Root Certificate=/c/ca.crt')).toMatchObject({
      sslMode: 'verify-full',
      sslRootCert: '/c/ca.crt',
    });
  });

  it('normalizes postgresql:// URLs and percent-encoding', () => {
    expect(normalizeConnectionString('postgresql://u:p%40ss@h:5433/db?sslmode=require')).toBe(
      'postgres://u:p%40ss@h:5433/db?sslmode=require',
    );
  });

  it.each([
    ['', 'is empty'],
    ['Host=;Password=' + SECRET, 'Host: is required'],
    ['Host=h;Port=abc;Password=' + SECRET, 'Port: must be a non-negative integer'],
    ['Host=h;Port=70000;Password=' + SECRET, 'Port: must be between 1 and 65535'],
    ['Host=h;SSL Mode=sometimes;Password=' + SECRET, 'unknown TLS mode'],
    ['Host=h;Passwrd=' + SECRET, 'Passwrd: unknown keyword'],
    ['Host=h;Password="' + SECRET, 'unterminated quoted value'],
    ['Host=h;Host=g;Password=' + SECRET, 'given more than once'],
    ['Host=h;' + SECRET, 'expected "key=value"'],
    ['Host=h;Password=ab;' + SECRET + '=1', 'unknown keyword after Password'],
    ['Host=h;Password=ab;cd' + SECRET, 'expected "key=value"'],
    ['postgres://u:' + SECRET + '@[bad', 'not a valid URL'],
    ['postgres://u:' + SECRET + '@h/db?sslmode=nope', 'unknown TLS mode'],
    ['postgres://u:' + SECRET + '@h/db?frobnicate=1', 'unsupported URL parameter'],
  ])('rejects %j with a typed error that never shows the password', (input, expected) => {
    let caught: unknown;
    try {
      normalizeConnectionString(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidConnectionStringError);
    expect(caught).toBeInstanceOf(ConfigurationError);
    const e = caught as InvalidConnectionStringError;
    expect(e.message).toContain(expected);
    expect(JSON.stringify({ m: e.message, p: e.problems, s: e.stack, c: String(e.cause) })).not.toContain(SECRET);
  });

  it('lists every problem of a string at once', () => {
    const e = (() => {
      try {
        normalizeConnectionString('Host=;Port=x;SSL Mode=maybe;Foo=1;Password=' + SECRET);
      } catch (err) {
        return err as InvalidConnectionStringError;
      }
      throw new Error('did not throw');
    })();
    expect(e.problems.map((p) => p.path)).toEqual([
      'connectionString.Port',
      'connectionString.SSL Mode',
      'connectionString.Foo',
      'connectionString.Host',
    ]);
    expect(e.problems.find((p) => p.path.endsWith('SSL Mode'))?.allowed).toContain('verify-full');
  });
});

describe('redactConnectionString', () => {
  it.each([
    [`Host=h;Password=${SECRET};Database=d`, 'Host=h;Password=***;Database=d'],
    [`Host=h;password = "${SECRET};x"";y";Database=d`, 'Host=h;password = ***;Database=d'],
    [`Host=h;PWD='${SECRET}'`, 'Host=h;PWD=***'],
    [`postgres://app:${SECRET}@db:5432/x`, 'postgres://app:***@db:5432/x'],
    [`postgresql://app:${SECRET}@with@at@db/x?sslmode=require`, 'postgresql://app:***@db/x?sslmode=require'],
    [`postgres://db/x?user=u&password=${SECRET}&sslmode=require`, 'postgres://db/x?user=u&password=***&sslmode=require'],
    [`Host=h;Password="${SECRET}`, 'Host=h;Password=***'],
  ])('redacts %j', (input, expected) => {
    const out = redactConnectionString(input);
    expect(out).toBe(expected);
    expect(out).not.toContain(SECRET);
  });

  it('leaves strings without a password unchanged', () => {
    expect(redactConnectionString('Host=h;Database=d')).toBe('Host=h;Database=d');
  });
});

describe('parsePostgresOptions', () => {
  it('applies defaults', () => {
    const o = parsePostgresOptions({ connectionString: 'Host=h;Password=x' });
    expect(o).toMatchObject({ commandTimeoutSeconds: 30, connectionTimeoutSeconds: 15, pool: { max: 10, min: 0 }, poolerMode: 'none' });
  });

  it('reports every problem with its path, never the password', () => {
    let caught: unknown;
    try {
      parsePostgresOptions({
        connectionString: `Host=;Password=${SECRET}`,
        commandTimeoutSeconds: -1,
        connectionTimeoutSeconds: 0,
        pool: { max: 0, min: -2 },
        tls: { mode: 'strict', cert: 'x' },
        schema: 'Bad Schema',
        poolerMode: 'session',
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    const e = caught as ConfigurationError;
    const paths = e.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'Postgres.ConnectionString',
        'Postgres.CommandTimeoutSeconds',
        'Postgres.ConnectionTimeoutSeconds',
        'Postgres.Pool.Max',
        'Postgres.Pool.Min',
        'Postgres.Tls.Mode',
        'Postgres.Schema',
        'Postgres.PoolerMode',
      ]),
    );
    expect(e.problems.find((p) => p.path === 'Postgres.PoolerMode')?.allowed).toEqual(['none', 'transaction']);
    expect(e.message).not.toContain(SECRET);
  });
});
