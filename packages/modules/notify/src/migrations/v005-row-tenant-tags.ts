import { defineMigration } from '@stellaops/migrator';

/**
 * V005: row tenant tags (postgres-core's security migration `V002_RowTenantTags`,
 * applied before this module's) on `channels`, `rules` and `deliveries`.
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
 * The worker role (`stellaops_notify_worker`) reads channels and rules inside
 * tenant sessions: the read policies now evaluate only the session tag
 * expressions (built-ins),
 * and the worker's own queue policies on deliveries (V002) are unchanged; it
 * writes no tenant column, so neither trigger fires for it.
 *
 * The statements are the text postgres-core's `tenantIsolationSql({ schema:
 * 'notify', table })` produced for each table when this was written, pasted as
 * literals.
 * `down` restores the V004_VerifiedTenant policies and drops the triggers and the column.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v005RowTenantTags = defineMigration({
  id: 'V005_RowTenantTags',
  description:
    'row tenant tags: tenant_tag column (backfilled, default the session tag, fill and retag triggers); tenant policies read by tag, write by verified tenant',
  up: `alter table "notify"."channels" add column if not exists tenant_tag bytea;
alter table "notify"."channels" no force row level security;
update "notify"."channels" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "notify"."channels" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "notify"."channels" alter column tenant_tag set not null;
drop trigger if exists "channels_tenant_tag_fill" on "notify"."channels";
create trigger "channels_tenant_tag_fill" before insert on "notify"."channels" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "channels_tenant_tag_retag" on "notify"."channels";
create trigger "channels_tenant_tag_retag" before update of "tenant_id" on "notify"."channels" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "notify"."channels" enable row level security;
alter table "notify"."channels" force row level security;
drop policy if exists "channels_tenant_isolation" on "notify"."channels";
create policy "channels_tenant_isolation" on "notify"."channels" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "notify"."rules" add column if not exists tenant_tag bytea;
alter table "notify"."rules" no force row level security;
update "notify"."rules" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "notify"."rules" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "notify"."rules" alter column tenant_tag set not null;
drop trigger if exists "rules_tenant_tag_fill" on "notify"."rules";
create trigger "rules_tenant_tag_fill" before insert on "notify"."rules" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "rules_tenant_tag_retag" on "notify"."rules";
create trigger "rules_tenant_tag_retag" before update of "tenant_id" on "notify"."rules" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "notify"."rules" enable row level security;
alter table "notify"."rules" force row level security;
drop policy if exists "rules_tenant_isolation" on "notify"."rules";
create policy "rules_tenant_isolation" on "notify"."rules" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))));
alter table "notify"."deliveries" add column if not exists tenant_tag bytea;
alter table "notify"."deliveries" no force row level security;
update "notify"."deliveries" set tenant_tag = stellaops_security.tenant_tag("tenant_id"::text) where tenant_tag is null;
alter table "notify"."deliveries" alter column tenant_tag set default pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
alter table "notify"."deliveries" alter column tenant_tag set not null;
drop trigger if exists "deliveries_tenant_tag_fill" on "notify"."deliveries";
create trigger "deliveries_tenant_tag_fill" before insert on "notify"."deliveries" for each row when (new.tenant_tag is null or new."tenant_id"::text is distinct from nullif(current_setting('app.tenant_id', true), '')) execute function stellaops_security.fill_tenant_tag('tenant_id');
drop trigger if exists "deliveries_tenant_tag_retag" on "notify"."deliveries";
create trigger "deliveries_tenant_tag_retag" before update of "tenant_id" on "notify"."deliveries" for each row when (new."tenant_id" is distinct from old."tenant_id") execute function stellaops_security.fill_tenant_tag('tenant_id');
alter table "notify"."deliveries" enable row level security;
alter table "notify"."deliveries" force row level security;
drop policy if exists "deliveries_tenant_isolation" on "notify"."deliveries";
create policy "deliveries_tenant_isolation" on "notify"."deliveries" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '') and (tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))) or tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))))) with check ("tenant_id" = (select stellaops_security.current_tenant()) and tenant_tag = (select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))))`,
  down: `drop policy "deliveries_tenant_isolation" on "notify"."deliveries";
create policy "deliveries_tenant_isolation" on "notify"."deliveries" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "deliveries_tenant_tag_retag" on "notify"."deliveries";
drop trigger "deliveries_tenant_tag_fill" on "notify"."deliveries";
alter table "notify"."deliveries" drop column tenant_tag;
drop policy "rules_tenant_isolation" on "notify"."rules";
create policy "rules_tenant_isolation" on "notify"."rules" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "rules_tenant_tag_retag" on "notify"."rules";
drop trigger "rules_tenant_tag_fill" on "notify"."rules";
alter table "notify"."rules" drop column tenant_tag;
drop policy "channels_tenant_isolation" on "notify"."channels";
create policy "channels_tenant_isolation" on "notify"."channels" as permissive for all
  using ("tenant_id" = (select stellaops_security.current_tenant()))
  with check ("tenant_id" = (select stellaops_security.current_tenant()));
drop trigger "channels_tenant_tag_retag" on "notify"."channels";
drop trigger "channels_tenant_tag_fill" on "notify"."channels";
alter table "notify"."channels" drop column tenant_tag`,
});
