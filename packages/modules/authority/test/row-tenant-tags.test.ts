import { rowTenantTagSuite } from '@stellaops/module-testkit';
import { TenantRepository, UserRepository } from '../src/index.js';
import { useAuthorityDatabase } from './support/authority-db.js';

// Every row carries tenant_tag, the sha256 of its tenant's proof, which the read policies compare with the session's (V005).
const { db, sources } = await useAuthorityDatabase();

rowTenantTagSuite({
  db,
  roles: sources,
  table: 'authority.users',
  write: (ds, tenant) =>
    ds.withTenant(tenant, async (trx) => {
      const record = await new TenantRepository(trx).create({ displayName: tenant });
      const user = await new UserRepository(trx).create({ login: 'alice' });
      return { record, user, found: await new UserRepository(trx).findById(user.id), all: await new UserRepository(trx).list() };
    }),
  ownerInsert: (tenant) =>
    `insert into authority.tenants (tenant_id, display_name) values ('${tenant}', 'owner') on conflict do nothing;
     insert into authority.users (tenant_id, login) values ('${tenant}', 'owner-inserted')`,
});
