import { defineMigration } from '@stellaops/migrator';

/**
 * V003: tenant isolation by the database-verified tenant (as Authority's and
 * Notify's V004).
 *
 * Every tenant policy and tenant column default now uses the VERIFIED tenant,
 * `stellaops_security.current_tenant()` (postgres-core's security migrations,
 * applied before this module's): `app.tenant_id` counts only with a valid
 * `app.tenant_proof`, so a tenant set by SQL alone selects and writes nothing.
 * The policy compares with `(select …)`, an initplan evaluated once per
 * statement. The tenant policies apply to every role (`public`), so they are
 * evaluated for the worker's queries too, next to its own policies (which are
 * unchanged): the worker may call the function, like Notify's worker.
 *
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v003VerifiedTenant = defineMigration({
  id: 'V003_VerifiedTenant',
  description: 'tenant policies and tenant_id defaults use stellaops_security.current_tenant() (HMAC-verified tenant); worker may call it',
  up: `drop policy "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "scheduler"."schedules" alter column tenant_id set default stellaops_security.current_tenant();
drop policy "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
alter table "scheduler"."runs" alter column tenant_id set default stellaops_security.current_tenant();
grant usage on schema stellaops_security to stellaops_scheduler_worker;
grant execute on function stellaops_security.current_tenant() to stellaops_scheduler_worker`,
  down: `drop policy "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "scheduler"."schedules" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
drop policy "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "scheduler"."runs" alter column tenant_id set default nullif(current_setting('app.tenant_id', true), '');
revoke execute on function stellaops_security.current_tenant() from stellaops_scheduler_worker;
revoke usage on schema stellaops_security from stellaops_scheduler_worker`,
});
