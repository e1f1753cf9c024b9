import { defineMigration } from '@stellaops/migrator';

/**
 * V004: tenant isolation by the database-verified tenant.
 *
 * Every tenant policy and tenant column default now uses the VERIFIED tenant,
 * `stellaops_security.current_tenant()` (postgres-core's security migrations,
 * applied before this module's): `app.tenant_id` counts only with a valid
 * `app.tenant_proof`, so a tenant set by SQL alone selects and writes nothing.
 * The policy compares with `(select …)`, an initplan evaluated once per
 * statement. Frozen literal SQL: never edit, add a new migration instead.
 */
export const v004VerifiedTenant = defineMigration({
  id: 'V004_VerifiedTenant',
  description: 'tenant policies and tenant_id defaults use stellaops_security.current_tenant() (HMAC-verified tenant)',
  up: `drop policy "tenants_tenant_isolation" on "authority"."tenants";
create policy "tenants_tenant_isolation" on "authority"."tenants" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."tenants" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "users_tenant_isolation" on "authority"."users";
create policy "users_tenant_isolation" on "authority"."users" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."users" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "clients_tenant_isolation" on "authority"."clients";
create policy "clients_tenant_isolation" on "authority"."clients" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."clients" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "tokens_tenant_isolation" on "authority"."tokens";
create policy "tokens_tenant_isolation" on "authority"."tokens" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."tokens" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "roles_tenant_isolation" on "authority"."roles";
create policy "roles_tenant_isolation" on "authority"."roles" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."roles" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "user_roles_tenant_isolation" on "authority"."user_roles";
create policy "user_roles_tenant_isolation" on "authority"."user_roles" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "authority"."user_roles" alter column tenant_id set default stellaops_security.current_tenant()`,
  down: `drop policy "tenants_tenant_isolation" on "authority"."tenants";
create policy "tenants_tenant_isolation" on "authority"."tenants" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."tenants" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "users_tenant_isolation" on "authority"."users";
create policy "users_tenant_isolation" on "authority"."users" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."users" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "clients_tenant_isolation" on "authority"."clients";
create policy "clients_tenant_isolation" on "authority"."clients" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."clients" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "tokens_tenant_isolation" on "authority"."tokens";
create policy "tokens_tenant_isolation" on "authority"."tokens" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."tokens" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "roles_tenant_isolation" on "authority"."roles";
create policy "roles_tenant_isolation" on "authority"."roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."roles" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "user_roles_tenant_isolation" on "authority"."user_roles";
create policy "user_roles_tenant_isolation" on "authority"."user_roles" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."user_roles" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '')`,
});
