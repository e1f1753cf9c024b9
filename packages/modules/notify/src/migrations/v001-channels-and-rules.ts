import { defineMigration } from '@stellaops/migrator';

/**
 * V001: channels (where notifications go) and rules (which events go to which channel).
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v001ChannelsAndRules = defineMigration({
  id: 'V001_ChannelsAndRules',
  description: 'channels and rules, RLS, app role grants',
  up: `do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'stellaops_app') then
    begin
      create role "stellaops_app" nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication;
    exception
      when duplicate_object or unique_violation then
        null;
      when insufficient_privilege then
        raise exception 'role stellaops_app does not exist and % may not create it', current_user
          using errcode = 'insufficient_privilege',
                hint = 'create it first (stella-db up does, or postgres-core ensureAppRole), or migrate as a role with CREATEROLE';
    end;
  end if;
end
$$;
create table notify.channels (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
      id uuid not null default gen_random_uuid(),
      name text not null check (length(name) between 1 and 200),
      kind text not null check (kind in ('email', 'webhook', 'slack', 'teams')),
      config jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
      enabled boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    );
create unique index channels_tenant_name_key on notify.channels (tenant_id, lower(name));
create table notify.rules (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
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
    );
create unique index rules_tenant_name_key on notify.rules (tenant_id, lower(name));
create index rules_tenant_event_idx on notify.rules (tenant_id, event_kind) where enabled;
create index rules_tenant_channel_idx on notify.rules (tenant_id, channel_id);
alter table "notify"."channels" enable row level security;
alter table "notify"."channels" force row level security;
drop policy if exists "channels_tenant_isolation" on "notify"."channels";
create policy "channels_tenant_isolation" on "notify"."channels" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "notify"."rules" enable row level security;
alter table "notify"."rules" force row level security;
drop policy if exists "rules_tenant_isolation" on "notify"."rules";
create policy "rules_tenant_isolation" on "notify"."rules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "notify" from "stellaops_app";
grant usage on schema "notify" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "notify" to "stellaops_app";
grant usage, select on all sequences in schema "notify" to "stellaops_app";
revoke all on table "notify"."_migrations" from "stellaops_app"`,
  down: `drop table notify.rules;
drop table notify.channels`,
});
