// The core security schema, as frozen literal SQL: NEVER edit an entry once released; add a new one.
// Plain objects (postgres-core does not depend on the migrator); @stellaops/migrator's `SchemaMigrator`
// applies them as `{ schema: SECURITY_SCHEMA, migrations: securityMigrations }`.

/** Schema of the tenant proof objects (owned by the owner role; the app role may only call `current_tenant()`). */
export const SECURITY_SCHEMA = 'stellaops_security';

/** The function every tenant write policy and tenant column default calls. */
export const CURRENT_TENANT_FUNCTION = 'stellaops_security.current_tenant()';

/** The tag of the session's previous-key proof (read policies, during a key rotation). */
export const PREVIOUS_SESSION_TAG_FUNCTION = 'stellaops_security.previous_session_tag()';

/** The tag of the session's current proof, as a function (for people and tests; policies use {@link SESSION_TAG_SQL}). */
export const SESSION_TAG_FUNCTION = 'stellaops_security.session_tag()';

/**
 * The body of `session_tag()`, written out: policies and column defaults use
 * this expression rather than the function, because PostgreSQL inlines a SQL
 * function by parsing its body again at every planning, and behind PgBouncer
 * every statement is planned.
 */
export const SESSION_TAG_SQL =
  "pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))";

/** The body of `previous_session_tag()`, written out (see {@link SESSION_TAG_SQL}). */
export const PREVIOUS_SESSION_TAG_SQL =
  "pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))";

/** The column holding each tenant row's tag. */
export const TENANT_TAG_COLUMN = 'tenant_tag';

/** One frozen SQL migration of {@link securityMigrations} (the migrator's `Migration` shape). */
export interface SecurityMigration {
  readonly id: string;
  readonly description: string;
  readonly up: string;
  readonly down: string;
}

/**
 * The core security migration set, applied (as the owner role, schema
 * `stellaops_security`) BEFORE any module's migrations — by `stella-db up`,
 * the test fixture's templates (module-testkit's `templateMigrations`) and the CLI's codegen:
 *
 * - `stellaops_security.tenant_keys`: the HMAC keys by id, as RFC 2104 inner
 *   and outer padded keys; no privilege at all for anyone but the owner.
 * - `stellaops_security.current_tenant()`: PL/pgSQL (its plan is cached per
 *   session; a SQL-language function is re-planned on every statement in
 *   PostgreSQL 16, measured ~5× dearer), `SECURITY DEFINER`, `STABLE`,
 *   `search_path = pg_catalog, pg_temp`, EXECUTE for `stellaops_app` only:
 *   returns `app.tenant_id` when `app.tenant_proof` is `<key id>.<hex
 *   HMAC-SHA256(key, tenant id)>` for a stored key (exactly, since V005), else NULL. Tenant
 *   write policies (`WITH CHECK`) compare `tenant_id = (select stellaops_security.current_tenant())`.
 * - Row tenant tags (V002): every tenant row carries `tenant_tag =
 *   sha256(<its tenant's proof>)`. The read policies (`USING`) compare it with
 *   `(select stellaops_security.session_tag())` — the sha256 of the session's
 *   `app.tenant_proof` (or, only for rows that fail it, of
 *   `app.tenant_proof_previous`, during a key rotation): an inlined SQL
 *   expression evaluated once per statement, no PL/pgSQL call, no table read. A tag is not a
 *   secret (the proof is its sha256 preimage). `session_tag()` is the column
 *   default; `tenant_tag(tenant, key_id)` (owner only, `SECURITY DEFINER`)
 *   computes a tag for backfills and re-tagging, and the trigger function
 *   `fill_tenant_tag()` fills it on rows written without one (an owner's
 *   insert, or a row moved to another tenant).
 * - Rotation re-tag (V003, made safe by V004): the trigger function
 *   `rotate_tenant_tag()`. `tenantIsolationSql`'s `<table>_tenant_tag_rotate`
 *   trigger calls it before an update of a row that still carries the
 *   session's previous-key tag, so that during a key rotation a unit can
 *   update rows not yet re-tagged (writes require the session's tag) and each
 *   updated row moves to the new key. Since V004 it is `SECURITY DEFINER`
 *   and re-tags only when the session is HMAC-verified for a tenant T
 *   (`current_tenant()`) and the row carries T's canonical tag under the
 *   previous key; the new tag is T's canonical tag under the current key
 *   (`tenant_tag(T, key)`). V003 set the session's tag unchecked, which a
 *   role whose own policy checks no tag (the worker roles) could use to give
 *   a row any tag.
 * - Canonical proof (V005): `current_tenant()` verifies the whole proof,
 *   not its first two `.`-separated parts, so a session verified for T
 *   always carries T's canonical tag. V001 ignored anything after the MAC
 *   (`<key id>.<mac>.junk` verified), which let a unit write its own rows
 *   with a tag no read of its tenant matches.
 *
 * @example
 * ```ts
 * await new SchemaMigrator({ connectionString: ownerUrl, schema: SECURITY_SCHEMA, migrations: securityMigrations }).up();
 * ```
 */
export const securityMigrations: readonly SecurityMigration[] = [
  {
    id: 'V001_TenantProof',
    description: 'tenant keys (owner only) and current_tenant(), the verified tenant',
    up: `do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'stellaops_app') then
    begin
      create role "stellaops_app" nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication;
    exception
      when duplicate_object or unique_violation then
        null;
      when insufficient_privilege then
        raise exception 'role stellaops_app does not exist and % may not create it', current_user
          using errcode = 'insufficient_privilege',
                hint = 'create it first (stella-db up does, or postgres-core ensureAppRole), or migrate as a role with CREATEROLE';
    end;
  end if;
end
$$;
revoke all on schema stellaops_security from public;
create table stellaops_security.tenant_keys (
  key_id text primary key check (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  inner_pad bytea not null check (length(inner_pad) = 64),
  outer_pad bytea not null check (length(outer_pad) = 64),
  created_at timestamptz not null default now()
);
revoke all on table stellaops_security.tenant_keys from public;
create function stellaops_security.current_tenant() returns text
  language plpgsql stable security definer parallel safe
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  tenant text := nullif(pg_catalog.current_setting('app.tenant_id', true), '');
  proof text := coalesce(pg_catalog.current_setting('app.tenant_proof', true), '');
  k record;
begin
  if tenant is null then
    return null;
  end if;
  select t.inner_pad, t.outer_pad into k
    from stellaops_security.tenant_keys t
   where t.key_id = pg_catalog.split_part(proof, '.', 1);
  if not found then
    return null;
  end if;
  -- HMAC-SHA256 (RFC 2104) with the stored padded keys; the hex MACs are compared through one more sha256 so that
  -- the comparison's timing says nothing about how many leading characters of a guess were right
  if pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.split_part(proof, '.', 2), 'UTF8'))
     = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(pg_catalog.sha256(
         k.outer_pad || pg_catalog.sha256(k.inner_pad || pg_catalog.convert_to(tenant, 'UTF8'))), 'hex'), 'UTF8')) then
    return tenant;
  end if;
  return null;
end
$fn$;
revoke all on function stellaops_security.current_tenant() from public;
grant usage on schema stellaops_security to stellaops_app;
grant execute on function stellaops_security.current_tenant() to stellaops_app`,
    down: `drop function stellaops_security.current_tenant();
drop table stellaops_security.tenant_keys;
revoke all on schema stellaops_security from stellaops_app`,
  },
  {
    id: 'V002_RowTenantTags',
    description:
      'row tenant tags: session_tag() and previous_session_tag() for the read policies, tenant_tag() and the fill trigger for owners',
    up: `create function stellaops_security.session_tag() returns bytea
  language sql stable parallel safe
as $fn$
  select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'))
$fn$;
create function stellaops_security.previous_session_tag() returns bytea
  language sql stable parallel safe
as $fn$
  select pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), 'UTF8'))
$fn$;
revoke all on function stellaops_security.session_tag() from public;
revoke all on function stellaops_security.previous_session_tag() from public;
grant execute on function stellaops_security.session_tag() to public;
grant execute on function stellaops_security.previous_session_tag() to public;
create function stellaops_security.tenant_tag(tenant text, key_id text default null) returns bytea
  language plpgsql stable security definer parallel safe
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  k record;
begin
  if tenant is null then
    return null;
  end if;
  select t.key_id, t.inner_pad, t.outer_pad into k
    from stellaops_security.tenant_keys t
   where tenant_tag.key_id is null or t.key_id = tenant_tag.key_id
   order by t.created_at desc, t.key_id desc
   limit 1;
  if not found then
    raise exception 'no tenant key % is installed, so a row of tenant % cannot be tagged',
        coalesce('"' || tenant_tag.key_id || '"', '(any)'), tenant
      using errcode = 'no_data_found',
            hint = 'install the key the services use first (stella-db up does; or postgres-core installTenantKey)';
  end if;
  return pg_catalog.sha256(pg_catalog.convert_to(k.key_id || '.' || pg_catalog.encode(pg_catalog.sha256(
    k.outer_pad || pg_catalog.sha256(k.inner_pad || pg_catalog.convert_to(tenant, 'UTF8'))), 'hex'), 'UTF8'));
end
$fn$;
revoke all on function stellaops_security.tenant_tag(text, text) from public;
create function stellaops_security.fill_tenant_tag() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  new.tenant_tag := stellaops_security.tenant_tag(pg_catalog.to_jsonb(new) ->> tg_argv[0]);
  return new;
end
$fn$;
revoke all on function stellaops_security.fill_tenant_tag() from public`,
    down: `drop function stellaops_security.fill_tenant_tag();
drop function stellaops_security.tenant_tag(text, text);
drop function stellaops_security.previous_session_tag();
drop function stellaops_security.session_tag()`,
  },
  {
    id: 'V003_RotationRetag',
    description:
      "rotate_tenant_tag(): re-tags a row still carrying the session's previous-key tag with the session's tag when a unit updates it",
    up: `create function stellaops_security.rotate_tenant_tag() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  new.tenant_tag := pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
  return new;
end
$fn$;
revoke all on function stellaops_security.rotate_tenant_tag() from public`,
    down: `drop function stellaops_security.rotate_tenant_tag()`,
  },
  {
    id: 'V004_RotationRetagVerified',
    description:
      "rotate_tenant_tag() re-tags only a row carrying the verified tenant's canonical previous-key tag, with that tenant's canonical current-key tag",
    up: `create or replace function stellaops_security.rotate_tenant_tag() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  tenant text := stellaops_security.current_tenant();
  previous_key text := pg_catalog.split_part(coalesce(pg_catalog.current_setting('app.tenant_proof_previous', true), ''), '.', 1);
  current_key text := pg_catalog.split_part(coalesce(pg_catalog.current_setting('app.tenant_proof', true), ''), '.', 1);
begin
  -- a session verified for tenant T (HMAC) moves a row tagged with T's canonical tag under the previous key to T's
  -- canonical tag under its current key: tags never change tenant, whatever the session put in its settings
  if tenant is not null and previous_key <> current_key
     and exists (select from stellaops_security.tenant_keys k where k.key_id = previous_key)
     and new.tenant_tag = stellaops_security.tenant_tag(tenant, previous_key) then
    new.tenant_tag := stellaops_security.tenant_tag(tenant, current_key);
  end if;
  return new;
end
$fn$;
revoke all on function stellaops_security.rotate_tenant_tag() from public`,
    down: `create or replace function stellaops_security.rotate_tenant_tag() returns trigger
  language plpgsql security invoker
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  new.tenant_tag := pg_catalog.sha256(pg_catalog.convert_to(nullif(pg_catalog.current_setting('app.tenant_proof', true), ''), 'UTF8'));
  return new;
end
$fn$;
revoke all on function stellaops_security.rotate_tenant_tag() from public`,
  },
  {
    id: 'V005_CanonicalProof',
    description: "current_tenant() accepts only the whole canonical proof '<key id>.<hex mac>' (V001 ignored anything after the MAC)",
    up: `create or replace function stellaops_security.current_tenant() returns text
  language plpgsql stable security definer parallel safe
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  tenant text := nullif(pg_catalog.current_setting('app.tenant_id', true), '');
  proof text := coalesce(pg_catalog.current_setting('app.tenant_proof', true), '');
  k record;
begin
  if tenant is null then
    return null;
  end if;
  select t.key_id, t.inner_pad, t.outer_pad into k
    from stellaops_security.tenant_keys t
   where t.key_id = pg_catalog.split_part(proof, '.', 1);
  if not found then
    return null;
  end if;
  -- the whole proof must be the canonical '<key id>.<lower-case hex HMAC-SHA256(key, tenant)>': nothing before, after
  -- or inside it may differ, so a verified session's tag (sha256 of its proof) is always its tenant's canonical tag.
  -- Compared through sha256, so the comparison's timing says nothing about how much of a guess was right.
  if pg_catalog.sha256(pg_catalog.convert_to(proof, 'UTF8'))
     = pg_catalog.sha256(pg_catalog.convert_to(k.key_id || '.' || pg_catalog.encode(pg_catalog.sha256(
         k.outer_pad || pg_catalog.sha256(k.inner_pad || pg_catalog.convert_to(tenant, 'UTF8'))), 'hex'), 'UTF8')) then
    return tenant;
  end if;
  return null;
end
$fn$;
revoke all on function stellaops_security.current_tenant() from public;
grant execute on function stellaops_security.current_tenant() to stellaops_app`,
    down: `create or replace function stellaops_security.current_tenant() returns text
  language plpgsql stable security definer parallel safe
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  tenant text := nullif(pg_catalog.current_setting('app.tenant_id', true), '');
  proof text := coalesce(pg_catalog.current_setting('app.tenant_proof', true), '');
  k record;
begin
  if tenant is null then
    return null;
  end if;
  select t.inner_pad, t.outer_pad into k
    from stellaops_security.tenant_keys t
   where t.key_id = pg_catalog.split_part(proof, '.', 1);
  if not found then
    return null;
  end if;
  -- HMAC-SHA256 (RFC 2104) with the stored padded keys; the hex MACs are compared through one more sha256 so that
  -- the comparison's timing says nothing about how many leading characters of a guess were right
  if pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.split_part(proof, '.', 2), 'UTF8'))
     = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(pg_catalog.sha256(
         k.outer_pad || pg_catalog.sha256(k.inner_pad || pg_catalog.convert_to(tenant, 'UTF8'))), 'hex'), 'UTF8')) then
    return tenant;
  end if;
  return null;
end
$fn$;
revoke all on function stellaops_security.current_tenant() from public;
grant execute on function stellaops_security.current_tenant() to stellaops_app`,
  },
];
