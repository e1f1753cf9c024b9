import type { Migration } from '@stellaops/migrator';
import { tenantIsolationSql } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import type { Generated } from 'kysely';
import { rowTenantTagSuite, templateMigrations, useModuleRoles } from '../src/index.js';

// A module in miniature with row tenant tags: the app role writes notes in tenant sessions, the policy reads by tag.
const APP = 'testkit_tag_app';
interface DB {
  'kittag.notes': { tenant_id: Generated<string>; tenant_tag: Generated<Buffer>; id: number; body: string };
}
const migrations: Migration[] = [
  {
    id: 'V001_Notes',
    up: [
      `do $$ begin if not exists (select from pg_roles where rolname = '${APP}') then create role ${APP} nologin; end if; end $$`,
      'create table kittag.notes (tenant_id text not null default stellaops_security.current_tenant(), id int not null, body text not null, primary key (tenant_id, id))',
      // a test fixture, built at run time on purpose (a module's migration pastes this text instead)
      ...tenantIsolationSql({ schema: 'kittag', table: 'notes' }),
      `grant usage on schema kittag to ${APP}`,
      `grant usage on schema stellaops_security to ${APP}`,
      `grant execute on function stellaops_security.current_tenant() to ${APP}`,
      `grant select, insert, update on kittag.notes to ${APP}`,
    ].join(';\n'),
  },
];

const db = useTestDatabase({ migrations: await templateMigrations({ schema: 'kittag', migrations }) });
const roles = useModuleRoles<DB>(db, { module: 'KitTag', roles: [APP] });

rowTenantTagSuite({
  db,
  roles,
  table: 'kittag.notes',
  write: (ds, tenant) =>
    ds
      .forTenant(tenant)
      .insertInto('kittag.notes')
      .values({ id: 1, body: `${tenant}'s note` })
      .returning(['tenant_id', 'id', 'body'])
      .execute(),
  ownerInsert: (tenant) => `insert into kittag.notes (tenant_id, id, body) values ('${tenant}', 2, 'by the owner')`,
});
