import { defineMigration } from '@stellaops/migrator';

/**
 * V002: deliveries, a durable per-tenant work queue. `next_attempt_at` is when a
 * `pending` delivery is due, or when the lease of a `processing` one expires
 * (then it is due again); it is null once `delivered` or `dead`. The worker
 * role gets schema usage, tenant-scoped reads of channels and rules, and on
 * deliveries only SELECT plus UPDATE of the queue-state columns, through two
 * permissive policies of its own.
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it, never build it from helpers (a helper
 * change would change an applied migration): write a new migration instead.
 */
export const v002Deliveries = defineMigration({
  id: 'V002_Deliveries',
  description: 'deliveries work queue, RLS, app role grants, worker role and its queue policies',
  up: `do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'stellaops_notify_worker') then
    begin
      create role "stellaops_notify_worker" nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication;
    exception
      when duplicate_object or unique_violation then
        null;
      when insufficient_privilege then
        raise exception 'role stellaops_notify_worker does not exist and % may not create it', current_user
          using errcode = 'insufficient_privilege',
                hint = 'create it first (stella-db up does, or postgres-core ensureAppRole), or migrate as a role with CREATEROLE';
    end;
  end if;
end
$$;
create table notify.deliveries (
      tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
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
    );
create unique index deliveries_tenant_idempotency_key on notify.deliveries (tenant_id, idempotency_key);
create index deliveries_tenant_due_idx on notify.deliveries (tenant_id, next_attempt_at) where status in ('pending', 'processing');
create index deliveries_tenant_channel_idx on notify.deliveries (tenant_id, channel_id);
create index deliveries_tenant_rule_idx on notify.deliveries (tenant_id, rule_id) where rule_id is not null;
create index deliveries_tenant_dead_idx on notify.deliveries (tenant_id, updated_at) where status = 'dead';
alter table "notify"."deliveries" enable row level security;
alter table "notify"."deliveries" force row level security;
drop policy if exists "deliveries_tenant_isolation" on "notify"."deliveries";
create policy "deliveries_tenant_isolation" on "notify"."deliveries" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "notify" from "stellaops_app";
grant usage on schema "notify" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "notify" to "stellaops_app";
grant usage, select on all sequences in schema "notify" to "stellaops_app";
revoke all on table "notify"."_migrations" from "stellaops_app";
grant usage on schema notify to stellaops_notify_worker;
grant select on notify.channels, notify.rules to stellaops_notify_worker;
grant select, update (status, attempts, next_attempt_at, locked_by, last_error, updated_at, delivered_at) on notify.deliveries to stellaops_notify_worker;
create policy deliveries_worker_read on notify.deliveries as permissive for select to stellaops_notify_worker using (true);
create policy deliveries_worker_settle on notify.deliveries as permissive for update to stellaops_notify_worker
      using (status in ('pending', 'processing')) with check (true)`,
  down: `drop table notify.deliveries;
revoke all on schema notify from stellaops_notify_worker;
revoke all on all tables in schema notify from stellaops_notify_worker`,
});
