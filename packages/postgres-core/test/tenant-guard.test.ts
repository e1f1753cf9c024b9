import { describe, expect, it } from 'vitest';
import { assertNoTenantWrite } from '../src/data-source/scoped-driver.js';
import { UnsupportedOperationError } from '../src/index.js';

// Pure logic: which statements the data source refuses before they reach the server.
describe('statements that set the tenant themselves are refused', () => {
  const refused = [
    "set app.tenant_id = 'acme'",
    "SET APP.TENANT_ID = 'acme'",
    "set app . tenant_id = 'acme'",
    'set session "app"."tenant_id" to \'acme\'',
    'reset app.tenant_id',
    "select set_config('app.tenant_id', 'acme', false)",
    "select SET_CONFIG( 'APP.TENANT_ID ', 'acme', false)",
    'select set_config($1, $2, false)',
    'select set_config(name, value, false) from settings',
    "set/**/app.tenant_id = 'acme'",
    "select set_config/**/('app.tenant_id', 'acme', false)",
    "select \"set_config\"('app.tenant_id', 'acme', false)",
    "set app.tenant_id -- comment\n = 'acme'",
  ];
  for (const sql of refused) {
    it(sql, () => {
      expect(() => assertNoTenantWrite(sql)).toThrow(UnsupportedOperationError);
    });
  }

  const allowed = [
    'select * from items where tenant_id = $1',
    "select set_config('statement_timeout', '5s', true)",
    'update t set tenant_id = tenant_id where id = 1',
  ];
  for (const sql of allowed) {
    it(`allows: ${sql}`, () => {
      expect(() => assertNoTenantWrite(sql)).not.toThrow();
    });
  }
});

// The guard lexes: tricks with strings, escapes and comments are caught, mentions in literals pass.
describe('the guard is not fooled by spelling', () => {
  const refused = [
    "select '--', set_config('app.tenant_id', 'b', true)",
    "select '/*', set_config('app.tenant_id', 'b', true) -- */",
    "select U&\"set\\005fconfig\"('app.tenant_id', 'b', true)",
    "select set_config(U&'app.tenant\\005fid', 'b', true)",
    "select set_config(U&'app.tenant!005fid' UESCAPE '!', 'b', true)",
    "select set_config(E'app.tenant\\137id', 'b', true)",
    'select set_config($$app.tenant_id$$, $$b$$, true)',
    "select set_config('app.' || 'tenant_id', 'b', true)",
    "select pg_catalog.set_config('app.tenant_id', 'b', true)",
    "/* outer /* inner */ still */ set app.tenant_id = 'b'",
    'set U&"app".tenant_id = \'b\'',
  ];
  for (const sql of refused) {
    it(sql, () => {
      expect(() => assertNoTenantWrite(sql)).toThrow(UnsupportedOperationError);
    });
  }
  const allowed = [
    "select 'app.tenant_id' as name",
    "select * from items where name = 'set app.tenant_id = b'",
    "select 'set_config(''app.tenant_id'', ''b'', true)'",
    "select current_setting('app.tenant_id', true)",
    "select $$ set_config('app.tenant_id', 'b', true) $$",
  ];
  for (const sql of allowed) {
    it(`allows: ${sql}`, () => {
      expect(() => assertNoTenantWrite(sql)).not.toThrow();
    });
  }
});
