import { defineMigration } from '@stellaops/migrator';

/**
 * V005: row tenant tags (postgres-core's security migration `V002_RowTenantTags`,
 * applied before this module's) on `tenants`, `users`, `clients`, `tokens`, `roles` and `user_roles`.
 *
 * Every row gets `tenant_tag bytea`, the sha256 of its tenant's proof:
 * existing rows are backfilled with the newest installed tenant key (FORCE row
 * level security is lifted for that update and restored in the same
 * transaction; with rows and no key installed the migration stops with "no
 * tenant key … is installed"), new rows default to the session's tag
 * (the sha256 of `app.tenant_proof`, NULL without one), and the triggers
 * `<table>_tenant_tag_fill` and `<table>_tenant_tag_retag` tag a row written
 * without a tag or for a tenant other than the session's (an owner's insert, a
 * worker writing for a tenant) or moved to another tenant. Each
 * `<table>_tenant_isolation` policy now reads (`USING`) by comparing the tag
 * with the session's (or, during a key rotation, its previous-key tag): the
 * session tag expression, evaluated once per statement, instead of the
 * PL/pgSQL HMAC check. Writes (`WITH CHECK`) still verify the HMAC
 * (`stellaops_security.current_tenant()`) and require the session's tag.
 *
 * The statements are the text postgres-core's `tenantIsolationSql({ schema:
 * 'authority', table })` produced for each table when this was written, pasted as
 * literals.
 * `down` restores the V004_VerifiedTenant policies and drops the triggers and the column.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v005RowTenantTags = defineMigration({
  id: 'V005_RowTenantTags',
  description:
    'row tenant tags: tenant_tag column (backfilled, default the session tag, fill and retag triggers); tenant policies read by tag, write by verified tenant',
  up: `alter table "authority"."tenants" add column if not exists tenant_tag bytea;
alter table "authority"."tenants" no force row level security;
update "authority"."tenants" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."tenants" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."tenants" alter column tenant_tag set not null;
drop trigger if exists "tenants_tenant_tag_fill" on "authority"."tenants";
create trigger "tenants_tenant_tag_fill" before insert on "authority"."tenants" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "tenants_tenant_tag_retag" on "authority"."tenants";
create trigger "tenants_tenant_tag_retag" before update of "tenant_id" on "authority"."tenants" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."tenants" enable row level security;
alter table "authority"."tenants" force row level security;
drop policy if exists "tenants_tenant_isolation" on "authority"."tenants";
create policy "tenants_tenant_isolation" on "authority"."tenants" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "authority"."users" add column if not exists tenant_tag bytea;
alter table "authority"."users" no force row level security;
update "authority"."users" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."users" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."users" alter column tenant_tag set not null;
drop trigger if exists "users_tenant_tag_fill" on "authority"."users";
create trigger "users_tenant_tag_fill" before insert on "authority"."users" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "users_tenant_tag_retag" on "authority"."users";
create trigger "users_tenant_tag_retag" before update of "tenant_id" on "authority"."users" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."users" enable row level security;
alter table "authority"."users" force row level security;
drop policy if exists "users_tenant_isolation" on "authority"."users";
create policy "users_tenant_isolation" on "authority"."users" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "authority"."clients" add column if not exists tenant_tag bytea;
alter table "authority"."clients" no force row level security;
update "authority"."clients" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."clients" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."clients" alter column tenant_tag set not null;
drop trigger if exists "clients_tenant_tag_fill" on "authority"."clients";
create trigger "clients_tenant_tag_fill" before insert on "authority"."clients" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "clients_tenant_tag_retag" on "authority"."clients";
create trigger "clients_tenant_tag_retag" before update of "tenant_id" on "authority"."clients" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."clients" enable row level security;
alter table "authority"."clients" force row level security;
drop policy if exists "clients_tenant_isolation" on "authority"."clients";
create policy "clients_tenant_isolation" on "authority"."clients" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "authority"."tokens" add column if not exists tenant_tag bytea;
alter table "authority"."tokens" no force row level security;
update "authority"."tokens" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."tokens" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."tokens" alter column tenant_tag set not null;
drop trigger if exists "tokens_tenant_tag_fill" on "authority"."tokens";
create trigger "tokens_tenant_tag_fill" before insert on "authority"."tokens" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "tokens_tenant_tag_retag" on "authority"."tokens";
create trigger "tokens_tenant_tag_retag" before update of "tenant_id" on "authority"."tokens" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."tokens" enable row level security;
alter table "authority"."tokens" force row level security;
drop policy if exists "tokens_tenant_isolation" on "authority"."tokens";
create policy "tokens_tenant_isolation" on "authority"."tokens" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "authority"."roles" add column if not exists tenant_tag bytea;
alter table "authority"."roles" no force row level security;
update "authority"."roles" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."roles" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."roles" alter column tenant_tag set not null;
drop trigger if exists "roles_tenant_tag_fill" on "authority"."roles";
create trigger "roles_tenant_tag_fill" before insert on "authority"."roles" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "roles_tenant_tag_retag" on "authority"."roles";
create trigger "roles_tenant_tag_retag" before update of "tenant_id" on "authority"."roles" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."roles" enable row level security;
alter table "authority"."roles" force row level security;
drop policy if exists "roles_tenant_isolation" on "authority"."roles";
create policy "roles_tenant_isolation" on "authority"."roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "authority"."user_roles" add column if not exists tenant_tag bytea;
alter table "authority"."user_roles" no force row level security;
update "authority"."user_roles" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "authority"."user_roles" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "authority"."user_roles" alter column tenant_tag set not null;
drop trigger if exists "user_roles_tenant_tag_fill" on "authority"."user_roles";
create trigger "user_roles_tenant_tag_fill" before insert on "authority"."user_roles" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "user_roles_tenant_tag_retag" on "authority"."user_roles";
create trigger "user_roles_tenant_tag_retag" before update of "tenant_id" on "authority"."user_roles" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "authority"."user_roles" enable row level security;
alter table "authority"."user_roles" force row level security;
drop policy if exists "user_roles_tenant_isolation" on "authority"."user_roles";
create policy "user_roles_tenant_isolation" on "authority"."user_roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))))`,
  down: `drop policy "user_roles_tenant_isolation" on "authority"."user_roles";
create policy "user_roles_tenant_isolation" on "authority"."user_roles" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "user_roles_tenant_tag_retag" on "authority"."user_roles";
drop trigger "user_roles_tenant_tag_fill" on "authority"."user_roles";
alter table "authority"."user_roles" drop column tenant_tag;
drop policy "roles_tenant_isolation" on "authority"."roles";
create policy "roles_tenant_isolation" on "authority"."roles" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "roles_tenant_tag_retag" on "authority"."roles";
drop trigger "roles_tenant_tag_fill" on "authority"."roles";
alter table "authority"."roles" drop column tenant_tag;
drop policy "tokens_tenant_isolation" on "authority"."tokens";
create policy "tokens_tenant_isolation" on "authority"."tokens" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "tokens_tenant_tag_retag" on "authority"."tokens";
drop trigger "tokens_tenant_tag_fill" on "authority"."tokens";
alter table "authority"."tokens" drop column tenant_tag;
drop policy "clients_tenant_isolation" on "authority"."clients";
create policy "clients_tenant_isolation" on "authority"."clients" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "clients_tenant_tag_retag" on "authority"."clients";
drop trigger "clients_tenant_tag_fill" on "authority"."clients";
alter table "authority"."clients" drop column tenant_tag;
drop policy "users_tenant_isolation" on "authority"."users";
create policy "users_tenant_isolation" on "authority"."users" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "users_tenant_tag_retag" on "authority"."users";
drop trigger "users_tenant_tag_fill" on "authority"."users";
alter table "authority"."users" drop column tenant_tag;
drop policy "tenants_tenant_isolation" on "authority"."tenants";
create policy "tenants_tenant_isolation" on "authority"."tenants" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "tenants_tenant_tag_retag" on "authority"."tenants";
drop trigger "tenants_tenant_tag_fill" on "authority"."tenants";
alter table "authority"."tenants" drop column tenant_tag`,
});
