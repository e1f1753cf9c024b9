import { defineMigration } from '@stellaops/migrator';

/**
 * V005: the rotation trigger (postgres-core's security migration
 * `V003_RotationRetag`, applied before this module's) on `schedules` and `runs`.
 *
 * During a tenant-key rotation services send the new key's proof and the old
 * one as `app.tenant_proof_previous`: rows not yet re-tagged stay readable
 * (V004's policies), but an UPDATE of one failed, because `WITH CHECK`
 * requires the session's tag and the row kept the old key's. Each
 * `<table>_tenant_tag_rotate` trigger fires before an update of a row whose
 * tag is the session's previous-key tag and sets the session's tag
 * (`stellaops_security.rotate_tenant_tag()`); `WITH CHECK` still verifies the
 * tenant. Outside a rotation the previous tag is NULL and it never fires. No
 * row changes when this migration runs.
 *
 * The statements are the text postgres-core's `tenantTagRotationSql({ schema:
 * 'scheduler', table })` produced for each table when this was written, pasted as
 * literals. `down` drops the triggers.
 * Frozen literal SQL: never edit, add a new migration instead.
 */
export const v005TenantTagRotation = defineMigration({
  id: 'V005_TenantTagRotation',
  description:
    'rotation trigger on every tenant table: an update of a row still tagged with the previous key re-tags it with the session tag',
  up: `drop trigger if exists "schedules_tenant_tag_rotate" on "scheduler"."schedules";
create trigger "schedules_tenant_tag_rotate" before update on "scheduler"."schedules" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag();
drop trigger if exists "runs_tenant_tag_rotate" on "scheduler"."runs";
create trigger "runs_tenant_tag_rotate" before update on "scheduler"."runs" for each row when (new.tenant_tag = pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))) execute function stellaops_security.rotate_tenant_tag()`,
  down: `drop trigger "runs_tenant_tag_rotate" on "scheduler"."runs";
drop trigger "schedules_tenant_tag_rotate" on "scheduler"."schedules"`,
});
