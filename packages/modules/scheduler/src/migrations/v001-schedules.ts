import { defineMigration } from '@stellaops/migrator';

/**
 * V001_Schedules: schedules, RLS, app role grants. Written by `stella-db new module scheduler`
 * from postgres-core's SQL helpers at generation time.
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v001Schedules = defineMigration({
  id: 'V001_Schedules',
  description: 'schedules, RLS, app role grants',
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
create table scheduler.schedules (
  tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
  id uuid not null default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create unique index schedules_tenant_name_key on scheduler.schedules (tenant_id, lower(name));
alter table "scheduler"."schedules" enable row level security;
alter table "scheduler"."schedules" force row level security;
drop policy if exists "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "scheduler" from "stellaops_app";
grant usage on schema "scheduler" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "scheduler" to "stellaops_app";
grant usage, select on all sequences in schema "scheduler" to "stellaops_app";
revoke all on table "scheduler"."_migrations" from "stellaops_app"`,
  down: `drop table scheduler.schedules`,
});
