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
 * The worker role reads channels and rules inside tenant sessions too, so it
 * may call the function as well (its queue policies on deliveries are unchanged).
 */
export const v004VerifiedTenant = defineMigration({
  id: 'V004_VerifiedTenant',
  description: 'tenant policies and tenant_id defaults use stellaops_security.current_tenant() (HMAC-verified tenant); worker may call it',
  up: `drop policy "channels_tenant_isolation" on "notify"."channels";
create policy "channels_tenant_isolation" on "notify"."channels" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "notify"."channels" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "rules_tenant_isolation" on "notify"."rules";
create policy "rules_tenant_isolation" on "notify"."rules" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "notify"."rules" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "deliveries_tenant_isolation" on "notify"."deliveries";
create policy "deliveries_tenant_isolation" on "notify"."deliveries" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "notify"."deliveries" alter column tenant_id set default stellaops_security.current_tenant();
grant usage on schema stellaops_security to stellaops_notify_worker;
grant execute on function stellaops_security.current_tenant() to stellaops_notify_worker`,
  down: `drop policy "channels_tenant_isolation" on "notify"."channels";
create policy "channels_tenant_isolation" on "notify"."channels" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "notify"."channels" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "rules_tenant_isolation" on "notify"."rules";
create policy "rules_tenant_isolation" on "notify"."rules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "notify"."rules" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "deliveries_tenant_isolation" on "notify"."deliveries";
create policy "deliveries_tenant_isolation" on "notify"."deliveries" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "notify"."deliveries" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
revoke execute on function stellaops_security.current_tenant() from stellaops_notify_worker;
revoke usage on schema stellaops_security from stellaops_notify_worker`,
});
