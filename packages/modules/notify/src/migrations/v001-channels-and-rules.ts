import { defineMigration } from '@stellaops/migrator';
import { tenantIsolationSql, createRoleIfMissingSql } from '@stellaops/postgres-core';
import { APP_ROLE, NOTIFY_SCHEMA, appGrantsSql} from '../database/roles.js';
import { TENANT_COLUMN } from './tenant-column.js';

const tables = ['channels', 'rules'];

/** V001: channels (where notifications go) and rules (which events go to which channel). */
export const v001ChannelsAndRules = defineMigration({
  id: 'V001_ChannelsAndRules',
  description: 'channels and rules, RLS, app role grants',
  up: [
    createRoleIfMissingSql(APP_ROLE),
    `create table notify.channels (
      ${TENANT_COLUMN},
      id uuid not null default gen_random_uuid(),
      name text not null check (length(name) between 1 and 200),
      kind text not null check (kind in ('email', 'webhook', 'slack', 'teams')),
      config jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
      enabled boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    )`,
    `create unique index channels_tenant_name_key on notify.channels (tenant_id, lower(name))`,
    `create table notify.rules (
      ${TENANT_COLUMN},
      id uuid not null default gen_random_uuid(),
      name text not null check (length(name) between 1 and 200),
      event_kind text not null check (length(event_kind) between 1 and 200),
      channel_id uuid not null,
      filter jsonb not null default '{}' check (jsonb_typeof(filter) = 'object'),
      enabled boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id),
      foreign key (tenant_id, channel_id) references notify.channels (tenant_id, id) on delete cascade
    )`,
    `create unique index rules_tenant_name_key on notify.rules (tenant_id, lower(name))`,
    `create index rules_tenant_event_idx on notify.rules (tenant_id, event_kind) where enabled`,
    `create index rules_tenant_channel_idx on notify.rules (tenant_id, channel_id)`,
    ...tables.flatMap((table) => tenantIsolationSql({ schema: NOTIFY_SCHEMA, table })),
    ...appGrantsSql(),
  ].join(';\n'),
  down: 'drop table notify.rules;\ndrop table notify.channels',
});
