import { qualifiedColumns } from '@stellaops/postgres-core';
import { sql, type Kysely } from 'kysely';
import type { DB, JsonObject } from '../generated/db.js';
import { RULE_COLUMNS, type Rule } from '../database/rows.js';

/** What {@link RuleRepository.create} takes. */
export interface CreateRuleInput {
  /** Name, unique per tenant regardless of case. */
  name: string;
  /** The event kind it matches, e.g. `scan.completed`. */
  eventKind: string;
  /** Where matching events are delivered. */
  channelId: string;
  /** Extra match criteria, interpreted by the service. */
  filter?: JsonObject;
  /** Whether it matches events (default true). */
  enabled?: boolean;
}

/**
 * The session tenant's routing rules: which event kinds go to which channel.
 *
 * @example
 * ```ts
 * const rules = new RuleRepository(ds.forTenant('acme'));
 * await rules.create({ name: 'scan done', eventKind: 'scan.completed', channelId: channel.id });
 * const targets = await rules.matching('scan.completed'); // enabled rules on enabled channels
 * ```
 */
export class RuleRepository {
  /** @param db a tenant-bound Kysely (or transaction) over Notify's `DB` */
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Creates a rule.
   *
   * @throws `UniqueViolationError` when the name exists in any case
   * @throws `ForeignKeyViolationError` when the channel does not exist in the tenant
   */
  async create(input: CreateRuleInput): Promise<Rule> {
    return this.db
      .insertInto('notify.rules')
      .values({
        name: input.name,
        event_kind: input.eventKind,
        channel_id: input.channelId,
        filter: JSON.stringify(input.filter ?? {}),
        enabled: input.enabled ?? true,
      })
      .returning(RULE_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  /** The rule with this id, if any. */
  async findById(id: string): Promise<Rule | undefined> {
    return this.db.selectFrom('notify.rules').select(RULE_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** All rules of the tenant, by name. */
  async list(): Promise<Rule[]> {
    return this.db.selectFrom('notify.rules').select(RULE_COLUMNS).orderBy('name').orderBy('id').execute();
  }

  /** The enabled rules for `eventKind` whose channel is enabled, by name. */
  async matching(eventKind: string): Promise<Rule[]> {
    return this.db
      .selectFrom('notify.rules as r')
      .innerJoin('notify.channels as c', (j) => j.onRef('c.tenant_id', '=', 'r.tenant_id').onRef('c.id', '=', 'r.channel_id'))
      .select(qualifiedColumns('r', RULE_COLUMNS))
      .where('r.event_kind', '=', eventKind)
      .where('r.enabled', '=', true)
      .where('c.enabled', '=', true)
      .orderBy('r.name')
      .execute();
  }

  /** Enables or disables a rule; returns the updated rule. */
  async setEnabled(id: string, enabled: boolean): Promise<Rule | undefined> {
    return this.db
      .updateTable('notify.rules')
      .set({ enabled, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(RULE_COLUMNS)
      .executeTakeFirst();
  }

  /** Deletes a rule (its deliveries stay, with `rule_id` null); true when one was deleted. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('notify.rules').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
