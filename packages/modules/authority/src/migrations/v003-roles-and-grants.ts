import { defineMigration } from '@stellaops/migrator';

/**
 * V003: roles (name unique per tenant, case-insensitive, with permissions) and their grants to users.
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v003RolesAndGrants = defineMigration({
  id: 'V003_RolesAndGrants',
  description: 'roles and user role grants, RLS, app role grants',
  up: `create table authority.roles (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), '') references authority.tenants (tenant_id) on delete cascade,
      id uuid not null default gen_random_uuid(),
      name text not null check (length(name) between 1 and 200),
      description text,
      permissions text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    );
create unique index roles_tenant_name_key on authority.roles (tenant_id, lower(name));
create table authority.user_roles (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
      user_id uuid not null,
      role_id uuid not null,
      granted_at timestamptz not null default now(),
      granted_by text,
      primary key (tenant_id, user_id, role_id),
      foreign key (tenant_id, user_id) references authority.users (tenant_id, id) on delete cascade,
      foreign key (tenant_id, role_id) references authority.roles (tenant_id, id) on delete cascade
    );
create index user_roles_tenant_role_idx on authority.user_roles (tenant_id, role_id);
alter table "authority"."roles" enable row level security;
alter table "authority"."roles" force row level security;
drop policy if exists "roles_tenant_isolation" on "authority"."roles";
create policy "roles_tenant_isolation" on "authority"."roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."user_roles" enable row level security;
alter table "authority"."user_roles" force row level security;
drop policy if exists "user_roles_tenant_isolation" on "authority"."user_roles";
create policy "user_roles_tenant_isolation" on "authority"."user_roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "authority" from "stellaops_app";
grant usage on schema "authority" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "authority" to "stellaops_app";
grant usage, select on all sequences in schema "authority" to "stellaops_app";
revoke all on table "authority"."_migrations" from "stellaops_app"`,
  down: `drop table authority.user_roles;
drop table authority.roles`,
});
