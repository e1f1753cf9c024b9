import { defineMigration } from '@stellaops/migrator';

/**
 * V002: OAuth clients (secret stored as a SHA-256 hash) and issued tokens (hash, expiry, revocation).
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v002ClientsAndTokens = defineMigration({
  id: 'V002_ClientsAndTokens',
  description: 'OAuth clients and issued tokens, RLS, app role grants',
  up: `create table authority.clients (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), '') references authority.tenants (tenant_id) on delete cascade,
      client_id text not null check (client_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
      display_name text not null,
      secret_hash bytea check (octet_length(secret_hash) = 32),
      redirect_uris text[] not null default '{}',
      grant_types text[] not null default '{}',
      scopes text[] not null default '{}',
      enabled boolean not null default true,
      secret_rotated_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, client_id)
    );
create table authority.tokens (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
      id uuid not null default gen_random_uuid(),
      token_hash bytea not null check (octet_length(token_hash) = 32),
      kind text not null check (kind in ('access', 'refresh')),
      client_id text not null,
      user_id uuid,
      scopes text[] not null default '{}',
      issued_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz,
      revoked_reason text,
      primary key (tenant_id, id),
      foreign key (tenant_id, client_id) references authority.clients (tenant_id, client_id) on delete cascade,
      foreign key (tenant_id, user_id) references authority.users (tenant_id, id) on delete cascade,
      check (expires_at > issued_at),
      check ((revoked_at is null) = (revoked_reason is null))
    );
create unique index tokens_tenant_hash_key on authority.tokens (tenant_id, token_hash);
create index tokens_tenant_client_idx on authority.tokens (tenant_id, client_id);
create index tokens_tenant_user_idx on authority.tokens (tenant_id, user_id) where user_id is not null;
create index tokens_tenant_expires_idx on authority.tokens (tenant_id, expires_at);
alter table "authority"."clients" enable row level security;
alter table "authority"."clients" force row level security;
drop policy if exists "clients_tenant_isolation" on "authority"."clients";
create policy "clients_tenant_isolation" on "authority"."clients" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
alter table "authority"."tokens" enable row level security;
alter table "authority"."tokens" force row level security;
drop policy if exists "tokens_tenant_isolation" on "authority"."tokens";
create policy "tokens_tenant_isolation" on "authority"."tokens" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "authority" from "stellaops_app";
grant usage on schema "authority" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "authority" to "stellaops_app";
grant usage, select on all sequences in schema "authority" to "stellaops_app";
revoke all on table "authority"."_migrations" from "stellaops_app"`,
  down: `drop table authority.tokens;
drop table authority.clients`,
});
