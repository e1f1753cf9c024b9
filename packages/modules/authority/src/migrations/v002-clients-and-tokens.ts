import { defineMigration } from '@stellaops/migrator';
import { tenantIsolationSql } from '@stellaops/postgres-core';
import { AUTHORITY_SCHEMA, appGrantsSql } from '../database/app-role.js';
import { TENANT_COLUMN } from './tenant-column.js';

const tables = ['clients', 'tokens'];

/** V002: OAuth clients (secret stored as a SHA-256 hash) and issued tokens (hash, expiry, revocation). */
export const v002ClientsAndTokens = defineMigration({
  id: 'V002_ClientsAndTokens',
  description: 'OAuth clients and issued tokens, RLS, app role grants',
  up: [
    `create table authority.clients (
      ${TENANT_COLUMN} references authority.tenants (tenant_id) on delete cascade,
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
    )`,
    `create table authority.tokens (
      ${TENANT_COLUMN},
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
    )`,
    `create unique index tokens_tenant_hash_key on authority.tokens (tenant_id, token_hash)`,
    `create index tokens_tenant_client_idx on authority.tokens (tenant_id, client_id)`,
    `create index tokens_tenant_user_idx on authority.tokens (tenant_id, user_id) where user_id is not null`,
    `create index tokens_tenant_expires_idx on authority.tokens (tenant_id, expires_at)`,
    ...tables.flatMap((table) => tenantIsolationSql({ schema: AUTHORITY_SCHEMA, table })),
    ...appGrantsSql(),
  ].join(';\n'),
  down: 'drop table authority.tokens;\ndrop table authority.clients',
});
