import type { Kysely } from 'kysely';
import { ChannelRepository, DeliveryRepository, type DB } from '../../src/index.js';

/** Creates a channel in the session tenant and enqueues `count` deliveries to it; returns their ids. */
export async function seedDeliveries(
  db: Kysely<DB>,
  count: number,
  options: { maxAttempts?: number; prefix?: string } = {},
): Promise<{ channelId: string; ids: string[] }> {
  const channel = await new ChannelRepository(db).create({
    name: `ops-${options.prefix ?? 'x'}`,
    kind: 'webhook',
    config: { url: 'https://hooks.test/ops' },
  });
  const deliveries = new DeliveryRepository(db);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { delivery } = await deliveries.enqueue({
      channelId: channel.id,
      idempotencyKey: `${options.prefix ?? 'x'}-${i}`,
      payload: { n: i },
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
    ids.push(delivery.id);
  }
  return { channelId: channel.id, ids };
}
