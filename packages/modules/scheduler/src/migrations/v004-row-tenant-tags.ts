import { defineMigration } from '@stellaops/migrator';

/**
 * V004: row tenant tags (postgres-core's security migration `V002_RowTenantTags`,
 * applied before this module's) on `schedules` and `runs`.
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
 * The worker role (`stellaops_scheduler_worker`) keeps its own policies (V002):
 * its reads evaluate the tenant policy's session tag expressions next to
 * them. It plans runs through its own insert policy, which checks no tag, in
 * sessions without the run's tenant (or bound to another tenant): the fill
 * trigger fires for a row whose tenant is not the session's `app.tenant_id`
 * and tags it for its own tenant, so the tenant reads its planned runs.
 *
 * The statements are the text postgres-core's `tenantIsolationSql({ schema:
 * 'scheduler', table })` produced for each table when this was written, pasted as
 * literals. `down` restores the V003_VerifiedTenant policies
 * and drops the triggers and the column.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v004RowTenantTags = defineMigration({
  id: 'V004_RowTenantTags',
  description:
    'row tenant tags: tenant_tag column (backfilled, default the session tag, fill and retag triggers); tenant policies read by tag, write by verified tenant',
  up: `alter table "scheduler"."schedules" add column if not exists tenant_tag bytea;
alter table "scheduler"."schedules" no force row level security;
update "scheduler"."schedules" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "scheduler"."schedules" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "scheduler"."schedules" alter column tenant_tag set not null;
drop trigger if exists "schedules_tenant_tag_fill" on "scheduler"."schedules";
create trigger "schedules_tenant_tag_fill" before insert on "scheduler"."schedules" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "schedules_tenant_tag_retag" on "scheduler"."schedules";
create trigger "schedules_tenant_tag_retag" before update of "tenant_id" on "scheduler"."schedules" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "scheduler"."schedules" enable row level security;
alter table "scheduler"."schedules" force row level security;
drop policy if exists "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "scheduler"."runs" add column if not exists tenant_tag bytea;
alter table "scheduler"."runs" no force row level security;
update "scheduler"."runs" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "scheduler"."runs" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "scheduler"."runs" alter column tenant_tag set not null;
drop trigger if exists "runs_tenant_tag_fill" on "scheduler"."runs";
create trigger "runs_tenant_tag_fill" before insert on "scheduler"."runs" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "runs_tenant_tag_retag" on "scheduler"."runs";
create trigger "runs_tenant_tag_retag" before update of "tenant_id" on "scheduler"."runs" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "scheduler"."runs" enable row level security;
alter table "scheduler"."runs" force row level security;
drop policy if exists "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))))`,
  down: `drop policy "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "runs_tenant_tag_retag" on "scheduler"."runs";
drop trigger "runs_tenant_tag_fill" on "scheduler"."runs";
alter table "scheduler"."runs" drop column tenant_tag;
drop policy "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "schedules_tenant_tag_retag" on "scheduler"."schedules";
drop trigger "schedules_tenant_tag_fill" on "scheduler"."schedules";
alter table "scheduler"."schedules" drop column tenant_tag`,
});
