import { rowTenantTagSuite, templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { APP_ROLE, ChannelRepository, DeliveryRepository, migrations, RuleRepository, WORKER_ROLE, type DB } from '../src/index.js';

// Every row carries tenant_tag, the sha256 of its tenant's proof, which the read policies compare with the session's (V005).
const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });

rowTenantTagSuite({
  db,
  roles: sources,
  table: 'notify.channels',
  write: (ds, tenant) =>
    ds.withTenant(tenant, async (trx) => {
      const channels = new ChannelRepository(trx);
      const channel = await channels.create({ name: 'ops', kind: 'email', config: { to: `ops@${tenant}.test` } });
      return { channel, found: await channels.findById(channel.id), all: await channels.list() };
    }),
  ownerInsert: (tenant) => `insert into notify.channels (tenant_id, name, kind) values ('${tenant}', 'owner-inserted', 'email')`,
});

rowTenantTagSuite({
  db,
  roles: sources,
  table: 'notify.deliveries',
  write: (ds, tenant) =>
    ds.withTenant(tenant, async (trx) => {
      const channel = await new ChannelRepository(trx).create({ name: 'hook', kind: 'webhook' });
      const rule = await new RuleRepository(trx).create({ name: 'r', eventKind: 'scan.completed', channelId: channel.id });
      const deliveries = new DeliveryRepository(trx);
      const enqueued = await deliveries.enqueue({ channelId: channel.id, ruleId: rule.id, idempotencyKey: 'k1', payload: { tenant } });
      const rules = new RuleRepository(trx);
      return { enqueued, rules: await rules.matching('scan.completed'), found: await deliveries.findById(enqueued.delivery.id) };
    }),
  ownerInsert: (tenant) =>
    `with c as (insert into notify.channels (tenant_id, name, kind) values ('${tenant}', 'owner-' || gen_random_uuid(), 'email') returning tenant_id, id)
     insert into notify.deliveries (tenant_id, channel_id, idempotency_key, payload) select tenant_id, id, 'owner-' || gen_random_uuid(), '{}' from c`,
});
