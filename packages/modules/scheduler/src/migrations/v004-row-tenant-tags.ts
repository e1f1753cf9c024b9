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
 * (`stellaops_security.session_tag()`), and the triggers
 * `<table>_tenant_tag_fill` and `<table>_tenant_tag_retag` tag a row written
 * without one (an owner's insert) or moved to another tenant. Each
 * `<table>_tenant_isolation` policy now reads (`USING`) by comparing the tag
 * with the session's (or, during a key rotation, its previous-key tag): an
 * inlined expression evaluated once per statement instead of the PL/pgSQL
 * HMAC check. Writes (`WITH CHECK`) still verify the HMAC
 * (`stellaops_security.current_tenant()`) and require the session's tag.
 *
 * The worker role (`stellaops_scheduler_worker`) keeps its own policies (V002):
 * its reads evaluate the tenant policy's `session_tag()` and
 * `previous_session_tag()` next to them (`PUBLIC` may execute both). It plans
 * runs through its own insert policy, which checks no tag, in sessions without
 * the run's tenant: there the `session_tag()` default is not the run's tenant's
 * tag — and not even null (which the fill trigger would catch) once
 * `app.tenant_proof` was set on the connection, as it is to `''` in every
 * transaction behind a transaction pooler. So one more trigger,
 * `runs_tenant_tag_plan`, tags every run inserted for a tenant other than the
 * session's verified one (`stellaops_security.current_tenant()`) for its own
 * tenant; a tenant session's insert for its own tenant keeps the session's tag,
 * and one for another tenant still fails the policy's `WITH CHECK`.
 *
 * The statements are the text postgres-core's `tenantIsolationSql({ schema:
 * 'scheduler', table })` produced for each table when this was written, pasted as
 * literals, with waivers for the two lint findings the backfill implies, and
 * the worker's trigger above. `down` restores the V003_VerifiedTenant policies
 * and drops the triggers and the column.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v004RowTenantTags = defineMigration({
  id: 'V004_RowTenantTags',
  description:
    'row tenant tags: tenant_tag column (backfilled, default session_tag(), fill and retag triggers); tenant policies read by tag, write by verified tenant',
  up: `alter table "scheduler"."schedules" add column if not exists tenant_tag bytea;
-- stella:allow rls-enable-force FORCE is lifted only so that the owner backfills the tags of every tenant's existing rows; restored below in the same transaction
alter table "scheduler"."schedules" no force row level security;
update "scheduler"."schedules" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "scheduler"."schedules" alter column tenant_tag set default stellaops_security.session_tag();
-- stella:allow set-not-null tenant_tag was added and backfilled in this same transaction under the ADD COLUMN's ACCESS EXCLUSIVE lock: the scan takes no lock the migration does not hold already
alter table "scheduler"."schedules" alter column tenant_tag set not null;
drop trigger if exists "schedules_tenant_tag_fill" on "scheduler"."schedules";
create trigger "schedules_tenant_tag_fill" before insert on "scheduler"."schedules" for each row when (new.tenant_tag is null) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "schedules_tenant_tag_retag" on "scheduler"."schedules";
create trigger "schedules_tenant_tag_retag" before update of "tenant_id" on "scheduler"."schedules" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "scheduler"."schedules" enable row level security;
alter table "scheduler"."schedules" force row level security;
drop policy if exists "schedules_tenant_isolation" on "scheduler"."schedules";
create policy "schedules_tenant_isolation" on "scheduler"."schedules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select stellaops_security.session_tag()) or tenant_tag = (select stellaops_security.previous_session_tag()))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select stellaops_security.session_tag()));
alter table "scheduler"."runs" add column if not exists tenant_tag bytea;
-- stella:allow rls-enable-force FORCE is lifted only so that the owner backfills the tags of every tenant's existing rows; restored below in the same transaction
alter table "scheduler"."runs" no force row level security;
update "scheduler"."runs" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "scheduler"."runs" alter column tenant_tag set default stellaops_security.session_tag();
-- stella:allow set-not-null tenant_tag was added and backfilled in this same transaction under the ADD COLUMN's ACCESS EXCLUSIVE lock: the scan takes no lock the migration does not hold already
alter table "scheduler"."runs" alter column tenant_tag set not null;
drop trigger if exists "runs_tenant_tag_fill" on "scheduler"."runs";
create trigger "runs_tenant_tag_fill" before insert on "scheduler"."runs" for each row when (new.tenant_tag is null) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "runs_tenant_tag_retag" on "scheduler"."runs";
create trigger "runs_tenant_tag_retag" before update of "tenant_id" on "scheduler"."runs" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "scheduler"."runs" enable row level security;
alter table "scheduler"."runs" force row level security;
drop policy if exists "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select stellaops_security.session_tag()) or tenant_tag = (select stellaops_security.previous_session_tag()))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select stellaops_security.session_tag()));
-- the worker plans runs through its own insert policy, outside its runs' tenant sessions: tag each for its tenant
create trigger "runs_tenant_tag_plan" before insert on "scheduler"."runs" for each row when (new.tenant_id is distinct from stellaops_security.current_tenant()) execute function stellaops_security.fill_tenant_tag('tenant_id')`,
  down: `drop trigger "runs_tenant_tag_plan" on "scheduler"."runs";
drop policy "runs_tenant_isolation" on "scheduler"."runs";
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
