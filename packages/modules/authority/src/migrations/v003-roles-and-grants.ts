import { defineMigration } from '@stellaops/migrator';
import { tenantIsolationSql } from '@stellaops/postgres-core';
import { AUTHORITY_SCHEMA, appGrantsSql } from '../database/app-role.js';
import { TENANT_COLUMN } from './tenant-column.js';

const tables = ['roles', 'user_roles'];

/** V003: roles (name unique per tenant, case-insensitive, with permissions) and their grants to users. */
export const v003RolesAndGrants = defineMigration({
  id: 'V003_RolesAndGrants',
  description: 'roles and user role grants, RLS, app role grants',
  up: [
    `create table authority.roles (
      ${TENANT_COLUMN} references authority.tenants (tenant_id) on delete cascade,
      id uuid not null default gen_random_uuid(),
      name text not null check (length(name) between 1 and 200),
      description text,
      permissions text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (tenant_id, id)
    )`,
    `create unique index roles_tenant_name_key on authority.roles (tenant_id, lower(name))`,
    `create table authority.user_roles (
      ${TENANT_COLUMN},
      user_id uuid not null,
      role_id uuid not null,
      granted_at timestamptz not null default now(),
      granted_by text,
      primary key (tenant_id, user_id, role_id),
      foreign key (tenant_id, user_id) references authority.users (tenant_id, id) on delete cascade,
      foreign key (tenant_id, role_id) references authority.roles (tenant_id, id) on delete cascade
    )`,
    `create index user_roles_tenant_role_idx on authority.user_roles (tenant_id, role_id)`,
    ...tables.flatMap((table) => tenantIsolationSql({ schema: AUTHORITY_SCHEMA, table })),
    ...appGrantsSql(),
  ].join(';\n'),
  down: 'drop table authority.user_roles;\ndrop table authority.roles',
});
