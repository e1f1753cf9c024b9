import { describe, expect, it } from 'vitest';
import { redactConnectionString, redactSecrets } from '../src/index.js';

const SECRET = 's3cr3t-Pa55';

describe('redactSecrets', () => {
  it.each([
    ['URL', `could not connect to postgres://app:${SECRET}@db:5432/x?sslmode=require`, 'postgres://app:***@db:5432/x?sslmode=require'],
    ['postgresql URL in quotes', `url "postgresql://app:${SECRET}@db/x" refused`, 'postgresql://app:***@db/x'],
    ['URL with an unencoded @ in the password', `postgres://app:p@ss${SECRET}@db/x`, 'postgres://app:***@db/x'],
    ['URL query password', `postgres://db/x?user=app&password=${SECRET}&sslmode=require`, 'password=***&sslmode=require'],
    ['Npgsql keyword string', `Host=db;Username=app;Password=${SECRET};Database=x`, 'Password=***;Database=x'],
    ['Npgsql quoted value', `Host=db;Password="${SECRET};x";Database=x`, 'Password=***;Database=x'],
    ['Npgsql Pwd', `Server=db;Pwd=${SECRET}`, 'Pwd=***'],
    ['libpq conninfo', `host=db user=app password=${SECRET} dbname=x`, 'password=*** dbname=x'],
    ['libpq conninfo quoted', `host=db password='${SECRET} with space' dbname=x`, 'password=*** dbname=x'],
    ['PGPASSWORD line', `PGPASSWORD=${SECRET} psql -h db`, 'PGPASSWORD=*** psql'],
    ['export PGPASSWORD', `export PGPASSWORD='${SECRET}'\n`, 'export PGPASSWORD=***'],
    ['JSON field', `{"user":"app","password":"${SECRET}"}`, '"password":"***"'],
    ['YAML field', `user: app\npassword: ${SECRET}\n`, 'password: ***'],
    ['SQL PASSWORD literal', `ERROR at: alter role app password '${SECRET}'`, "password '***'"],
    ['SQL E-string', `create role app login password E'${SECRET}\\'x'`, "password '***'"],
    ['SQL dollar quoting', `create role app password $pw$${SECRET}$pw$ login`, "password '***' login"],
  ])('hides the password in a %s', (_form, text, kept) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(SECRET);
    expect(out).toContain(kept);
  });

  it('hides SCRAM verifiers and md5 hashes', () => {
    const verifier = 'SCRAM-SHA-256$4096:c2FsdHNhbHQ=$c3RvcmVka2V5c3RvcmVka2V5:c2VydmVya2V5c2VydmVya2V5';
    const out = redactSecrets(`stellaops_app ${verifier}\nold md5${'a1'.repeat(16)}`);
    expect(out).toBe('stellaops_app SCRAM-SHA-256$***\nold md5***');
  });

  it('hides PEM private keys but keeps certificates', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----';
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const out = redactSecrets(`${pem}\n${cert}`);
    expect(out).not.toContain('MIIEv');
    expect(out).toContain('MIIB');
  });

  it('hides secrets given by value, also URL-encoded', () => {
    expect(redactSecrets('token a/b+c and a%2Fb%2Bc', { secrets: ['a/b+c', undefined, ''] })).toBe('token *** and ***');
  });

  it('leaves text without secrets alone', () => {
    const text = 'password authentication failed for user "app" at postgres://app@db:5432/x (host=db port=5432)';
    expect(redactSecrets(text)).toBe(text);
  });

  it('never throws on non-strings', () => {
    expect(redactSecrets(undefined as unknown as string)).toBe('***');
  });
});

describe('redactConnectionString', () => {
  it.each([
    ['postgres://app:s3cret@db/x', 'postgres://app:***@db/x'],
    ['postgres://app:p@ss:w@db/x', 'postgres://app:***@db/x'],
    ['postgres://app@db/x?password=s3cret', 'postgres://app@db/x?password=***'],
    ['Host=db;Password="a;b";Database=x', 'Host=db;Password=***;Database=x'],
    ['Host=db;Password=a b c;Database=x', 'Host=db;Password=***;Database=x'],
    ["Host=db;PWD='it''s'", 'Host=db;PWD=***'],
    ['host=db password=s3cret dbname=x', 'host=db password=*** dbname=x'],
    ['Host=db;Password="unterminated', 'Host=db;Password=***'],
  ])('%s', (input, expected) => {
    expect(redactConnectionString(input)).toBe(expected);
  });

  it('never throws on non-strings', () => {
    expect(redactConnectionString(null as unknown as string)).toBe('***');
  });
});
