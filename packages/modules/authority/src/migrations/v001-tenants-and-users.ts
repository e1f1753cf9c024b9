import { defineMigration } from '@stellaops/migrator';

/**
 * V001: tenants and users (login unique per tenant, case-insensitive).
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v001TenantsAndUsers = defineMigration({
  id: 'V001_TenantsAndUsers',
  description: 'tenants and users, RLS, app role grants',
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
create table authority.tenants (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), '') primary key check (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
      display_name text not null check (length(display_name) between 1 and 200),
      status text not null default 'active' check (status in ('active', 'suspended')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
create table authority.users (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), '') references authority.tenants (tenant_id) on delete cascade,
      id uuid not null default gen_random_uuid(),
      login text not null check (length(login) between 1 and 256),
      display_name text,
      email text,
      status text not null default 'active' check (status in ('active', 'disabled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    );
create unique index users_tenant_login_key on authority.users (tenant_id, lower(login));
alter table "authority"."tenants" enable row level security;
alter table "authority"."tenants" force row level security;
drop policy if exists "tenants_tenant_isolation" on "authority"."tenants";
create policy "tenants_tenant_isolation" on "authority"."tenants" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."users" enable row level security;
alter table "authority"."users" force row level security;
drop policy if exists "users_tenant_isolation" on "authority"."users";
create policy "users_tenant_isolation" on "authority"."users" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "authority" from "stellaops_app";
grant usage on schema "authority" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "authority" to "stellaops_app";
grant usage, select on all sequences in schema "authority" to "stellaops_app";
revoke all on table "authority"."_migrations" from "stellaops_app"`,
  down: `drop table authority.users;
drop table authority.tenants`,
});
