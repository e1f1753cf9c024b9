import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { sessionDefaults, startupOptions } from '../src/data-source/session-defaults.js';
import { buildSessionScope, TENANT_PROOF_SETTING, TENANT_SETTING } from '../src/data-source/session-scope.js';
import { parsePostgresOptions } from '../src/index.js';

const db = useTestDatabase();

describe('sessionDefaults', () => {
  it('lists UTC, the command timeout in ms and, with a schema, the search path', () => {
    expect(sessionDefaults(parsePostgresOptions({ connectionString: 'Host=h', commandTimeoutSeconds: 5, schema: 'notify' }))).toEqual([
      ['TimeZone', 'UTC'],
      ['statement_timeout', '5000'],
      ['search_path', 'notify,public'],
    ]);
    expect(sessionDefaults(parsePostgresOptions({ connectionString: 'Host=h' }))).toEqual([
      ['TimeZone', 'UTC'],
      ['statement_timeout', '30000'],
    ]);
  });
});

describe('startupOptions', () => {
  it('formats -c pairs and escapes backslash and white space the way the server splits options', () => {
    expect(
      startupOptions([
        ['TimeZone', 'UTC'],
        ['statement_timeout', '5000'],
      ]),
    ).toBe('-c TimeZone=UTC -c statement_timeout=5000');
    expect(startupOptions([['application_name', 'a b\\c\td']])).toBe('-c application_name=a\\ b\\\\c\\\td');
    expect(startupOptions([])).toBe('');
  });

  it('the server reads escaped values back unchanged', async () => {
    const value = 'a b\\c\td \\ end';
    const client = new pg.Client({
      connectionString: db.server.urlFor(db.database),
      options: startupOptions([['stellaops_test.value', value], ...sessionDefaults({ commandTimeoutSeconds: 3, schema: 'notify' })]),
    });
    await client.connect();
    try {
      const r = await client.query<{ value: string; tz: string; st: string; path: string }>(
        `select current_setting('stellaops_test.value') value, current_setting('TimeZone') tz, current_setting('statement_timeout') st, current_setting('search_path') path`,
      );
      expect(r.rows[0]).toEqual({ value, tz: 'UTC', st: '3s', path: 'notify,public' });
    } finally {
      await client.end();
    }
  });
});

describe('buildSessionScope', () => {
  it('binds tenant, proof and defaults in one named set_config statement', () => {
    const scope = buildSessionScope({
      tenantId: 'acme',
      proof: 'k1.abc',
      transactionDefaults: [['TimeZone', 'UTC']],
      preparedStatements: true,
      alwaysSetTenant: false,
    });
    expect(scope.tenantId).toBe('acme');
    expect(scope.preparedStatements).toBe(true);
    expect(scope.prelude).toEqual([
      {
        text: 'select set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)',
        values: [TENANT_SETTING, 'acme', TENANT_PROOF_SETTING, 'k1.abc', 'TimeZone', 'UTC'],
        name: 'stellaops_set_config_3',
      },
    ]);
  });

  it('sends nothing for unscoped work in direct mode, and an empty tenant behind a transaction pooler', () => {
    const direct = buildSessionScope({
      tenantId: undefined,
      proof: undefined,
      transactionDefaults: [],
      preparedStatements: true,
      alwaysSetTenant: false,
    });
    expect(direct.prelude).toEqual([]);
    const pooled = buildSessionScope({
      tenantId: undefined,
      proof: undefined,
      transactionDefaults: [['statement_timeout', '1000']],
      preparedStatements: false,
      alwaysSetTenant: true,
    });
    expect(pooled.prelude).toEqual([
      {
        text: 'select set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)',
        values: [TENANT_SETTING, '', TENANT_PROOF_SETTING, '', 'statement_timeout', '1000'],
      },
    ]);
  });
});
