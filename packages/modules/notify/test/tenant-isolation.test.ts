import { resolveMigrations } from '@stellaops/migrator';
import { sessionUserAndOwner, templateMigrations, useModuleRoles } from '@stellaops/module-testkit';
import { DatabaseError, ForeignKeyViolationError, type PostgresDataSource } from '@stellaops/postgres-core';
import { useTestDatabase } from '@stellaops/test-fixture/vitest';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  APP_ROLE,
  ChannelRepository,
  DeliveryQueue,
  DeliveryRepository,
  migrations,
  RuleRepository,
  WORKER_ROLE,
  type DB,
} from '../src/index.js';

// Runs as the app role and the worker role (non-owners, RLS applies); db.pool (superuser) only checks the tables.
const db = useTestDatabase({ migrations: await templateMigrations(migrations) });
const sources = useModuleRoles<DB>(db, { module: 'Notify', roles: [APP_ROLE, WORKER_ROLE] });
let app: PostgresDataSource<DB>;
let worker: PostgresDataSource<DB>;

const TABLES = ['notify.channels', 'notify.rules', 'notify.deliveries'] as const;

interface Seeded {
  channelId: string;
  ruleId: string;
  deliveryId: string;
}

async function seed(tenant: string): Promise<Seeded> {
  return app.withTenant(tenant, async (trx) => {
    const channel = await new ChannelRepository(trx).create({ name: 'mail', kind: 'email', config: { to: `${tenant}@test` } });
    const rule = await new RuleRepository(trx).create({ name: 'r', eventKind: 'scan.completed', channelId: channel.id });
    const { delivery } = await new DeliveryRepository(trx).enqueue({
      channelId: channel.id,
      ruleId: rule.id,
      idempotencyKey: 'k1',
      payload: { tenant },
    });
    return { channelId: channel.id, ruleId: rule.id, deliveryId: delivery.id };
  });
}

async function snapshot(): Promise<unknown[]> {
  const r = await db.pool.query(
    `select 'c' as t, tenant_id, id, name as v, null as s from notify.channels
     union all select 'r', tenant_id, id, name, event_kind from notify.rules
     union all select 'd', tenant_id, id, payload::text, status || ':' || attempts from notify.deliveries order by 1, 2, 3`,
  );
  return r.rows;
}

beforeEach(() => {
  app = sources.open(APP_ROLE);
  worker = sources.open(WORKER_ROLE);
});

describe('tenant isolation through the app role', () => {
  it('connects as a role that does not own the tables', async () => {
    const { user, owner } = await sessionUserAndOwner(app, 'notify.deliveries');
    expect(user).toBe(APP_ROLE);
    expect(owner).not.toBe(APP_ROLE);
  });

  it('shows each tenant only its own channels, rules and deliveries', async () => {
    const acme = await seed('acme');
    const globex = await seed('globex');
    for (const [tenant, own, other] of [
      ['acme', acme, globex],
      ['globex', globex, acme],
    ] as const) {
      const t = app.forTenant(tenant);
      for (const table of TABLES)
        expect(await t.selectFrom(table).select('tenant_id').execute(), `${tenant} ${table}`).toEqual([{ tenant_id: tenant }]);
      expect((await new DeliveryRepository(t).findByIdempotencyKey('k1'))?.id).toBe(own.deliveryId);
      expect(await new DeliveryRepository(t).findById(other.deliveryId)).toBeUndefined();
      expect(await new ChannelRepository(t).findById(other.channelId)).toBeUndefined();
      expect(await new RuleRepository(t).findById(other.ruleId)).toBeUndefined();
    }
  });

  it("cannot change or delete another tenant's rows, nor reference them", async () => {
    const acme = await seed('acme');
    await seed('globex');
    const before = await snapshot();
    const g = app.forTenant('globex');
    expect(await new ChannelRepository(g).setEnabled(acme.channelId, false)).toBeUndefined();
    expect(await new ChannelRepository(g).delete(acme.channelId)).toBe(false);
    expect(await new RuleRepository(g).delete(acme.ruleId)).toBe(false);
    expect(
      await g
        .updateTable('notify.deliveries')
        .set({ status: 'dead', next_attempt_at: null })
        .where('id', '=', acme.deliveryId)
        .executeTakeFirst(),
    ).toMatchObject({
      numUpdatedRows: 0n,
    });
    await expect(new RuleRepository(g).create({ name: 'x', eventKind: 'e', channelId: acme.channelId })).rejects.toBeInstanceOf(
      ForeignKeyViolationError,
    );
    await expect(
      g.insertInto('notify.channels').values({ tenant_id: 'acme', name: 'intruder', kind: 'email' }).execute(),
    ).rejects.toMatchObject({ sqlState: '42501' });
    await expect(g.updateTable('notify.channels').set({ tenant_id: 'acme' }).execute()).rejects.toMatchObject({ sqlState: '42501' });
    expect(await snapshot()).toEqual(before);
  });

  it('sees no rows and cannot insert without a tenant', async () => {
    const acme = await seed('acme');
    const before = await snapshot();
    for (const table of TABLES) expect(await app.db.selectFrom(table).select('tenant_id').execute(), table).toEqual([]);
    await expect(new ChannelRepository(app.db).create({ name: 'x', kind: 'email' })).rejects.toBeInstanceOf(DatabaseError);
    await expect(
      app.db.insertInto('notify.channels').values({ tenant_id: 'acme', name: 'x', kind: 'email' }).execute(),
    ).rejects.toMatchObject({ sqlState: '42501' });
    await expect(
      new DeliveryRepository(app.db).enqueue({ channelId: acme.channelId, idempotencyKey: 'k2', payload: {} }),
    ).rejects.toBeInstanceOf(DatabaseError);
    expect((await app.db.deleteFrom('notify.deliveries').executeTakeFirst()).numDeletedRows).toBe(0n);
    expect(await snapshot()).toEqual(before);
  });
});

describe('the worker role', () => {
  it('claims across tenants but reads channels and rules only inside a tenant session', async () => {
    const acme = await seed('acme');
    const globex = await seed('globex');
    const claimed = await new DeliveryQueue(worker.db).claimDue({ workerId: 'w', limit: 10 });
    expect(claimed.map((d) => d.id).sort()).toEqual([acme.deliveryId, globex.deliveryId].sort());
    expect(await worker.db.selectFrom('notify.channels').select('id').execute()).toEqual([]);
    expect(await worker.db.selectFrom('notify.rules').select('id').execute()).toEqual([]);
    // to deliver, it looks the channel up in the delivery's tenant session
    for (const d of claimed) {
      const channel = await new ChannelRepository(worker.forTenant(d.tenant_id)).findById(d.channel_id);
      expect(channel?.config).toEqual({ to: `${d.tenant_id}@test` });
      expect(
        await new ChannelRepository(worker.forTenant(d.tenant_id === 'acme' ? 'globex' : 'acme')).findById(d.channel_id),
      ).toBeUndefined();
    }
  });

  it('cannot insert or delete deliveries, rewrite what they are, or touch settled ones', async () => {
    const acme = await seed('acme');
    const w = worker.db;
    const queue = new DeliveryQueue(w);
    await expect(
      w
        .insertInto('notify.deliveries')
        .values({ tenant_id: 'acme', channel_id: acme.channelId, idempotency_key: 'w', payload: '{}' })
        .execute(),
    ).rejects.toMatchObject({
      sqlState: '42501',
    });
    await expect(w.deleteFrom('notify.deliveries').execute()).rejects.toMatchObject({ sqlState: '42501' });
    for (const set of [
      { tenant_id: 'globex' },
      { tenant_tag: Buffer.alloc(32) },
      { payload: '{"evil":true}' },
      { idempotency_key: 'x' },
      { max_attempts: 100 },
    ] as const) {
      await expect(w.updateTable('notify.deliveries').set(set).execute(), JSON.stringify(set)).rejects.toMatchObject({ sqlState: '42501' });
    }
    await expect(w.updateTable('notify.channels').set({ enabled: false }).execute()).rejects.toMatchObject({ sqlState: '42501' });
    // since V003 it may read the migration history (readiness), never change it
    const ids = (await resolveMigrations(migrations.migrations)).map((m) => m.id).sort();
    expect(ids).toContain('V003_WorkerReadsMigrations');
    expect((await sql<{ name: string }>`select name from notify._migrations order by name`.execute(w)).rows.map((r) => r.name)).toEqual(
      ids,
    );
    await expect(sql`delete from notify._migrations`.execute(w)).rejects.toMatchObject({ sqlState: '42501' });
    await expect(sql`update notify._migrations set checksum = 'x'`.execute(w)).rejects.toMatchObject({ sqlState: '42501' });
    const [d] = await queue.claimDue({ workerId: 'w' });
    await queue.complete(d!, 'w');
    const before = await snapshot();
    // a delivered row is out of the worker's update policy
    const r = await w
      .updateTable('notify.deliveries')
      .set({ status: 'pending', next_attempt_at: sql<Date>`now()`, delivered_at: null })
      .executeTakeFirst();
    expect(r.numUpdatedRows).toBe(0n);
    expect(await snapshot()).toEqual(before);
  });
});
