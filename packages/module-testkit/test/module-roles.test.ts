import type { Migration } from '@stellaops/migrator';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import type { Generated } from 'kysely';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  enableRoleLogins,
  roleConnectionString,
  sessionUserAndOwner,
  templateMigrations,
  TEST_ROLE_PASSWORD,
  useModuleRoles,
} from '../src/index.js';

// A module in miniature: two NOLOGIN roles created by the migrations, a tenant table under the verified tenant.
const APP = 'testkit_app';
const READER = 'testkit_reader';
interface DB {
  'kit.items': { tenant_id: Generated<string>; id: number; name: string };
}
const migrations: Migration[] = [
  {
    id: 'V001_Items',
    up: `do $$ begin
  if not exists (select from pg_roles where rolname = '${APP}') then create role ${APP} nologin; end if;
  if not exists (select from pg_roles where rolname = '${READER}') then create role ${READER} nologin; end if;
end $$;
create table kit.items (tenant_id text not null default stellaops_security.current_tenant(), id int not null, name text not null, primary key (tenant_id, id));
alter table kit.items enable row level security;
alter table kit.items force row level security;
create policy tenant on kit.items using (tenant_id = (select stellaops_security.current_tenant())) with check (tenant_id = (select stellaops_security.current_tenant()));
grant usage on schema kit to ${APP}, ${READER};
grant usage on schema stellaops_security to ${APP}, ${READER};
grant execute on function stellaops_security.current_tenant() to ${APP}, ${READER};
grant select, insert on kit.items to ${APP};
grant select on kit.items to ${READER}`,
  },
];

const db = useTestDatabase({ migrations: await templateMigrations({ schema: 'kit', migrations }) });
const roles = useModuleRoles<DB>(db, { module: 'Kit', roles: [APP, READER] });

describe('useModuleRoles', () => {
  let app: ReturnType<typeof roles.open>;
  beforeEach(() => {
    app = roles.open();
  });

  it('connects as the first role by default, a role that owns nothing, with the fixture tenant key', async () => {
    const { user, owner } = await sessionUserAndOwner(app, 'kit.items');
    expect(user).toBe(APP);
    expect(owner).not.toBe(APP);
    await app.forTenant('acme').insertInto('kit.items').values({ id: 1, name: 'first' }).execute();
    // the proof is verified: acme sees its row, another tenant and unscoped work see nothing
    expect(await app.forTenant('acme').selectFrom('kit.items').select(['tenant_id', 'name']).execute()).toEqual([
      { tenant_id: 'acme', name: 'first' },
    ]);
    expect(await app.forTenant('other').selectFrom('kit.items').select('id').execute()).toEqual([]);
    expect(await app.db.selectFrom('kit.items').select('id').execute()).toEqual([]);
  });

  it('opens another role with its own pool size; its grants apply', async () => {
    const reader = roles.open(READER, 1);
    expect((await sessionUserAndOwner(reader, 'kit.items')).user).toBe(READER);
    expect(reader.pool.options.max).toBe(1);
    await expect(reader.forTenant('acme').insertInto('kit.items').values({ id: 2, name: 'no' }).execute()).rejects.toThrow(
      /permission denied/,
    );
  });

  let fromEarlierTest: ReturnType<typeof roles.open> | undefined;
  it('keeps what a test opened usable during the test', async () => {
    fromEarlierTest = roles.open();
    await fromEarlierTest.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    expect(fromEarlierTest.pool.ended).toBe(false);
  });

  it('closed it after that test (afterEach)', () => {
    expect(fromEarlierTest?.pool.ended).toBe(true);
  });

  it('gives the URL and password of a role, and the same through roleConnectionString', async () => {
    expect(roles.password).toBe(TEST_ROLE_PASSWORD);
    expect(roles.url()).toBe(roleConnectionString(db, APP));
    const c = new pg.Client(roles.url(READER));
    await c.connect();
    try {
      expect((await c.query<{ u: string }>('select current_user as u')).rows[0]!.u).toBe(READER);
    } finally {
      await c.end();
    }
  });

  it('enableRoleLogins is idempotent and sets the given password', async () => {
    await enableRoleLogins(db.server.adminConnectionString, [READER], 'another-test-pw');
    const c = new pg.Client(roleConnectionString(db, READER, 'another-test-pw'));
    await c.connect();
    await c.end();
    await enableRoleLogins(db.server.adminConnectionString, [READER]); // back to the shared test password
    const again = new pg.Client(roles.url(READER));
    await again.connect();
    await again.end();
  });

  it('sessionUserAndOwner names a missing table', async () => {
    await expect(sessionUserAndOwner(app, 'kit.nope')).rejects.toThrow('sessionUserAndOwner: there is no table kit.nope');
  });
});
