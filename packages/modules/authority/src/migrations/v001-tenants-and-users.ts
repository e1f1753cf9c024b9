import { defineMigration } from '@stellaops/migrator';
import { tenantIsolationSql, createRoleIfMissingSql } from '@stellaops/postgres-core';
import { APP_ROLE, AUTHORITY_SCHEMA, appGrantsSql} from '../database/app-role.js';
import { TENANT_COLUMN } from './tenant-column.js';

const tables = ['tenants', 'users'];

/** V001: tenants and users (login unique per tenant, case-insensitive). */
export const v001TenantsAndUsers = defineMigration({
  id: 'V001_TenantsAndUsers',
  description: 'tenants and users, RLS, app role grants',
  up: [
    createRoleIfMissingSql(APP_ROLE),
    `create table authority.tenants (
      ${TENANT_COLUMN} primary key check (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
      display_name text not null check (length(display_name) between 1 and 200),
      status text not null default 'active' check (status in ('active', 'suspended')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create table authority.users (
      ${TENANT_COLUMN} references authority.tenants (tenant_id) on delete cascade,
      id uuid not null default gen_random_uuid(),
      login text not null check (length(login) between 1 and 256),
      display_name text,
      email text,
      status text not null default 'active' check (status in ('active', 'disabled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    )`,
    `create unique index users_tenant_login_key on authority.users (tenant_id, lower(login))`,
    ...tables.flatMap((table) => tenantIsolationSql({ schema: AUTHORITY_SCHEMA, table })),
    ...appGrantsSql(),
  ].join(';\n'),
  down: 'drop table authority.users;\ndrop table authority.tenants',
});
