import { templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { ForeignKeyViolationError, UniqueViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { APP_ROLE, ChannelRepository, DeliveryRepository, migrations, RuleRepository, WORKER_ROLE, type DB } from '../src/index.js';

const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });
let app: PostgresDataSource<DB>;

beforeEach(() => {
  app = sources.open(APP_ROLE);
});

describe('ChannelRepository', () => {
  it('creates, lists, reconfigures, disables and deletes channels; names unique per tenant ignoring case', async () => {
    const channels = new ChannelRepository(app.forTenant('acme'));
    const ops = await channels.create({ name: 'Ops', kind: 'email', config: { to: ['ops@acme.test'] } });
    expect(ops).toMatchObject({ tenant_id: 'acme', name: 'Ops', kind: 'email', config: { to: ['ops@acme.test'] }, enabled: true });
    await expect(channels.create({ name: 'OPS', kind: 'slack' })).rejects.toBeInstanceOf(UniqueViolationError);
    await channels.create({ name: 'hooks', kind: 'webhook', enabled: false });
    expect((await channels.list()).map((c) => [c.name, c.enabled])).toEqual([
      ['Ops', true],
      ['hooks', false],
    ]);
    expect(await channels.updateConfig(ops.id, { to: ['sec@acme.test'] })).toMatchObject({ config: { to: ['sec@acme.test'] } });
    expect(await channels.setEnabled(ops.id, false)).toMatchObject({ enabled: false });
    expect(await channels.delete(ops.id)).toBe(true);
    expect(await channels.findById(ops.id)).toBeUndefined();
    expect(await channels.delete(ops.id)).toBe(false);
    // the same name in another tenant is fine
    expect(await new ChannelRepository(app.forTenant('globex')).create({ name: 'Ops', kind: 'email' })).toMatchObject({
      tenant_id: 'globex',
    });
  });
});

describe('RuleRepository', () => {
  it('matches enabled rules of enabled channels by event kind', async () => {
    const t = app.forTenant('acme');
    const channels = new ChannelRepository(t);
    const rules = new RuleRepository(t);
    const mail = await channels.create({ name: 'mail', kind: 'email' });
    const hook = await channels.create({ name: 'hook', kind: 'webhook' });
    const a = await rules.create({ name: 'a', eventKind: 'scan.completed', channelId: mail.id, filter: { severity: 'high' } });
    const b = await rules.create({ name: 'b', eventKind: 'scan.completed', channelId: hook.id });
    await rules.create({ name: 'c', eventKind: 'scan.failed', channelId: mail.id });
    const d = await rules.create({ name: 'd', eventKind: 'scan.completed', channelId: mail.id, enabled: false });
    expect(a.filter).toEqual({ severity: 'high' });
    expect((await rules.matching('scan.completed')).map((r) => r.name)).toEqual(['a', 'b']);
    await channels.setEnabled(hook.id, false);
    await rules.setEnabled(d.id, true);
    expect((await rules.matching('scan.completed')).map((r) => r.name)).toEqual(['a', 'd']);
    expect(await rules.delete(b.id)).toBe(true);
    expect((await rules.list()).map((r) => r.name)).toEqual(['a', 'c', 'd']);
    await expect(rules.create({ name: 'A', eventKind: 'x', channelId: mail.id })).rejects.toBeInstanceOf(UniqueViolationError);
    await expect(rules.create({ name: 'e', eventKind: 'x', channelId: '00000000-0000-0000-0000-000000000000' })).rejects.toBeInstanceOf(
      ForeignKeyViolationError,
    );
    // deleting the channel takes its rules with it
    await channels.delete(mail.id);
    expect(await rules.list()).toEqual([]);
  });
});

describe('DeliveryRepository', () => {
  it('enqueues once per idempotency key and tenant, returning the first delivery for a repeated key', async () => {
    const acme = app.forTenant('acme');
    const channel = await new ChannelRepository(acme).create({ name: 'mail', kind: 'email' });
    const rule = await new RuleRepository(acme).create({ name: 'r', eventKind: 'scan.completed', channelId: channel.id });
    const deliveries = new DeliveryRepository(acme);
    const first = await deliveries.enqueue({
      channelId: channel.id,
      ruleId: rule.id,
      idempotencyKey: 'scan:1',
      payload: { scan: 1 },
      maxAttempts: 3,
    });
    expect(first.created).toBe(true);
    expect(first.delivery).toMatchObject({
      status: 'pending',
      attempts: 0,
      max_attempts: 3,
      payload: { scan: 1 },
      rule_id: rule.id,
      locked_by: null,
    });
    expect(first.delivery).not.toHaveProperty('created');
    const again = await deliveries.enqueue({ channelId: channel.id, idempotencyKey: 'scan:1', payload: { scan: 'changed' } });
    expect(again.created).toBe(false);
    expect(again.delivery).toEqual(first.delivery);
    expect((await deliveries.findByIdempotencyKey('scan:1'))?.id).toBe(first.delivery.id);
    const other = await deliveries.enqueue({ channelId: channel.id, idempotencyKey: 'scan:2', payload: ['a', 'b'] });
    expect(other.created).toBe(true);
    expect(other.delivery.payload).toEqual(['a', 'b']);

    // another tenant may use the same key
    const gChannel = await new ChannelRepository(app.forTenant('globex')).create({ name: 'mail', kind: 'email' });
    const g = await new DeliveryRepository(app.forTenant('globex')).enqueue({
      channelId: gChannel.id,
      idempotencyKey: 'scan:1',
      payload: {},
    });
    expect(g.created).toBe(true);
    expect(g.delivery.id).not.toBe(first.delivery.id);

    // deleting the rule keeps its deliveries
    await new RuleRepository(acme).delete(rule.id);
    expect(await deliveries.findById(first.delivery.id)).toMatchObject({ rule_id: null, tenant_id: 'acme' });
  });

  it("rejects deliveries to another tenant's channel", async () => {
    const gChannel = await new ChannelRepository(app.forTenant('globex')).create({ name: 'mail', kind: 'email' });
    await expect(
      new DeliveryRepository(app.forTenant('acme')).enqueue({ channelId: gChannel.id, idempotencyKey: 'k', payload: {} }),
    ).rejects.toBeInstanceOf(ForeignKeyViolationError);
  });
});
