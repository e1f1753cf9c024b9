import { sql, type Kysely } from 'kysely';
import type { DB, JsonObject } from '../generated/db.js';
import { CHANNEL_COLUMNS, type Channel } from '../database/rows.js';

/** Kinds of channel. */
export type ChannelKind = 'email' | 'webhook' | 'slack' | 'teams';

/** What {@link ChannelRepository.create} takes. */
export interface CreateChannelInput {
  /** Name, unique per tenant regardless of case. */
  name: string;
  /** Channel kind. */
  kind: ChannelKind;
  /** Kind-specific settings (addresses, URL…); keep secrets out of it or encrypt them. */
  config?: JsonObject;
  /** Whether rules may deliver to it (default true). */
  enabled?: boolean;
}

/**
 * The session tenant's notification channels.
 *
 * @example
 * ```ts
 * const channel = await new ChannelRepository(ds.forTenant('acme')).create({ name: 'ops', kind: 'email', config: { to: 'ops@acme.test' } });
 * ```
 */
export class ChannelRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Notify's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Creates a channel.
   *
   * @throws `UniqueViolationError` (constraint `channels_tenant_name_key`) when the name exists in any case
   */
  async create(input: CreateChannelInput): Promise<Channel> {
    return this.db
      .insertInto('notify.channels')
      .values({ name: input.name, kind: input.kind, config: JSON.stringify(input.config ?? {}), enabled: input.enabled ?? true })
      .returning(CHANNEL_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The channel with this id, if any. */
  async findById(id: string): Promise<Channel | undefined> {
    return this.db.selectFrom('notify.channels').select(CHANNEL_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** All channels of the tenant, by name. */
  async list(): Promise<Channel[]> {
    return this.db.selectFrom('notify.channels').select(CHANNEL_COLUMNS).orderBy('name').orderBy('id').execute();
  }

  /** Replaces a channel's settings; returns the updated channel. */
  async updateConfig(id: string, config: JsonObject): Promise<Channel | undefined> {
    return this.db
      .updateTable('notify.channels')
      .set({ config: JSON.stringify(config), updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(CHANNEL_COLUMNS)
      .executeTakeFirst();
  }

  /** Enables or disables a channel; returns the updated channel. */
  async setEnabled(id: string, enabled: boolean): Promise<Channel | undefined> {
    return this.db
      .updateTable('notify.channels')
      .set({ enabled, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(CHANNEL_COLUMNS)
      .executeTakeFirst();
  }

  /** Deletes a channel with its rules and deliveries; true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('notify.channels').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
