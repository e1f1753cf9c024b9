import { defineMigration } from '@stellaops/migrator';
import { tenantIsolationSql, createRoleIfMissingSql } from '@stellaops/postgres-core';
import { NOTIFY_SCHEMA, WORKER_ROLE, appGrantsSql} from '../database/roles.js';
import { TENANT_COLUMN } from './tenant-column.js';

/** Columns the worker role may change: the queue state, nothing that says whose or what a delivery is. */
const WORKER_COLUMNS = ['status', 'attempts', 'next_attempt_at', 'locked_by', 'last_error', 'updated_at', 'delivered_at'];

/**
 * V002: deliveries, a durable per-tenant work queue. `next_attempt_at` is when a
 * `pending` delivery is due, or when the lease of a `processing` one expires
 * (then it is due again); it is null once `delivered` or `dead`.
 */
export const v002Deliveries = defineMigration({
  id: 'V002_Deliveries',
  description: 'deliveries work queue, RLS, app role grants, worker role and its queue policies',
  up: [
    createRoleIfMissingSql(WORKER_ROLE),
    `create table notify.deliveries (
      ${TENANT_COLUMN},
      id uuid not null default gen_random_uuid(),
      channel_id uuid not null,
      rule_id uuid,
      idempotency_key text not null check (length(idempotency_key) between 1 and 200),
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'processing', 'delivered', 'dead')),
      attempts integer not null default 0 check (attempts >= 0),
      max_attempts integer not null default 5 check (max_attempts between 1 and 100),
      next_attempt_at timestamptz default now(),
      locked_by text,
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      delivered_at timestamptz,
      primary key (tenant_id, id),
      foreign key (tenant_id, channel_id) references notify.channels (tenant_id, id) on delete cascade,
      foreign key (tenant_id, rule_id) references notify.rules (tenant_id, id) on delete set null (rule_id),
      check ((status in ('pending', 'processing')) = (next_attempt_at is not null)),
      check ((status = 'processing') = (locked_by is not null)),
      check ((status = 'delivered') = (delivered_at is not null))
    )`,
    `create unique index deliveries_tenant_idempotency_key on notify.deliveries (tenant_id, idempotency_key)`,
    `create index deliveries_tenant_due_idx on notify.deliveries (tenant_id, next_attempt_at) where status in ('pending', 'processing')`,
    `create index deliveries_tenant_channel_idx on notify.deliveries (tenant_id, channel_id)`,
    `create index deliveries_tenant_rule_idx on notify.deliveries (tenant_id, rule_id) where rule_id is not null`,
    `create index deliveries_tenant_dead_idx on notify.deliveries (tenant_id, updated_at) where status = 'dead'`,
    ...tenantIsolationSql({ schema: NOTIFY_SCHEMA, table: 'deliveries' }),
    ...appGrantsSql(),
    // The worker role: schema usage, tenant-scoped reads of channels and rules (the tenant policy applies to it too),
    // and on deliveries only SELECT plus UPDATE of the queue-state columns — no INSERT, DELETE, or change of tenant_id/payload.
    `grant usage on schema notify to ${WORKER_ROLE}`,
    `grant select on notify.channels, notify.rules to ${WORKER_ROLE}`,
    `grant select, update (${WORKER_COLUMNS.join(', ')}) on notify.deliveries to ${WORKER_ROLE}`,
    // Permissive policies for the worker role only, OR-ed with the tenant policy: every tenant's deliveries are
    // visible to it, and it may update only live ones (pending or processing).
    `create policy deliveries_worker_read on notify.deliveries as permissive for select to ${WORKER_ROLE} using (true)`,
    `create policy deliveries_worker_settle on notify.deliveries as permissive for update to ${WORKER_ROLE}
      using (status in ('pending', 'processing')) with check (true)`,
  ].join(';\n'),
  down: [`drop table notify.deliveries`, `revoke all on schema notify from ${WORKER_ROLE}`, `revoke all on all tables in schema notify from ${WORKER_ROLE}`].join(';\n'),
});
