import { defineMigration } from '@stellaops/migrator';

/**
 * V006: the rotation trigger (postgres-core's security migration
 * `V003_RotationRetag`, applied before this module's) on `tenants`, `users`, `clients`, `tokens`, `roles` and `user_roles`.
 *
 * During a tenant-key rotation services send the new key's proof and the old
 * one as `app.tenant_proof_previous`: rows not yet re-tagged stay readable
 * (V005's policies), but an UPDATE of one failed, because `WITH CHECK`
 * requires the session's tag and the row kept the old key's. Each
 * `<table>_tenant_tag_rotate` trigger fires before an update of a row whose
 * tag is the session's previous-key tag and sets the session's tag
 * (`stellaops_security.rotate_tenant_tag()`); `WITH CHECK` still verifies the
 * tenant. Outside a rotation the previous tag is NULL and it never fires. No
 * row changes when this migration runs.
 *
 * The statements are the text postgres-core's `tenantTagRotationSql({ schema:
 * 'authority', table })` produced for each table when this was written, pasted as
 * literals. `down` drops the triggers.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v006TenantTagRotation = defineMigration({
  id: 'V006_TenantTagRotation',
  description:
    'rotation trigger on every tenant table: an update of a row still tagged with the previous key re-tags it with the session tag',
  up: `drop trigger if exists "tenants_tenant_tag_rotate" on "authority"."tenants";
create trigger "tenants_tenant_tag_rotate" before update on "authority"."tenants" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "users_tenant_tag_rotate" on "authority"."users";
create trigger "users_tenant_tag_rotate" before update on "authority"."users" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "clients_tenant_tag_rotate" on "authority"."clients";
create trigger "clients_tenant_tag_rotate" before update on "authority"."clients" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "tokens_tenant_tag_rotate" on "authority"."tokens";
create trigger "tokens_tenant_tag_rotate" before update on "authority"."tokens" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "roles_tenant_tag_rotate" on "authority"."roles";
create trigger "roles_tenant_tag_rotate" before update on "authority"."roles" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "user_roles_tenant_tag_rotate" on "authority"."user_roles";
create trigger "user_roles_tenant_tag_rotate" before update on "authority"."user_roles" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag()`,
  down: `drop trigger "user_roles_tenant_tag_rotate" on "authority"."user_roles";
drop trigger "roles_tenant_tag_rotate" on "authority"."roles";
drop trigger "tokens_tenant_tag_rotate" on "authority"."tokens";
drop trigger "clients_tenant_tag_rotate" on "authority"."clients";
drop trigger "users_tenant_tag_rotate" on "authority"."users";
drop trigger "tenants_tenant_tag_rotate" on "authority"."tenants"`,
});
