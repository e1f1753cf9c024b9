import { defineMigration } from '@stellaops/migrator';

/**
 * V002 (hand-written): cron timing on schedules and the runs table.
 *
 * - `schedules` gains `cron` (validated by the repository with cron-parser),
 *   `time_zone` (an IANA name Intl accepts), `enabled`, `payload` and
 *   `next_fire_at` (the next tick not yet planned; null when disabled).
 * - `runs`: one row per schedule tick, `unique (tenant_id, schedule_id,
 *   scheduled_for)` (`runs_one_per_tick`), so planners insert with `on conflict
 *   do nothing` and several schedulers create exactly one run per tick.
 * - The state machine queued → running → succeeded | failed | cancelled (and
 *   queued → cancelled) is enforced in SQL: a status check, checks tying the
 *   lease/timestamp columns to the status, and a `before update` trigger
 *   (`runs_status_transition`) that refuses any other transition, any change
 *   of a finished run, and any change of a run's tenant, schedule or tick.
 * - Worker role `stellaops_scheduler_worker` (NOBYPASSRLS, owns nothing): reads
 *   schedules and runs of every tenant, advances `next_fire_at`, inserts runs
 *   and updates only the run state columns of unfinished runs — through
 *   policies of its own; everything else stays tenant-isolated.
 *
 * Frozen: databases applied this exact text and its checksum is pinned in
 * `migrations.lock.json`. Never edit it: write a new migration instead. The
 * role, RLS and grant statements are the text postgres-core's helpers
 * (`createRoleIfMissingSql`, `tenantIsolationSql`, `appRoleGrantsSql`)
 * produced when it was written, pasted as literals.
 */
export const v002CronAndRuns = defineMigration({
  id: 'V002_CronAndRuns',
  description: 'cron timing on schedules, runs with a SQL-enforced state machine and one run per tick, worker role and its policies',
  up: `do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'stellaops_scheduler_worker') then
    begin
      create role "stellaops_scheduler_worker" nologin nosuperuser nobypassrls nocreatedb nocreaterole noreplication;
    exception
      when duplicate_object or unique_violation then
        null;
      when insufficient_privilege then
        raise exception 'role stellaops_scheduler_worker does not exist and % may not create it', current_user
          using errcode = 'insufficient_privilege',
                hint = 'create it first (stella-db up does, or postgres-core ensureAppRole), or migrate as a role with CREATEROLE';
    end;
  end if;
end
$$;
alter table scheduler.schedules
  add column cron text not null check (length(cron) between 1 and 200),
  add column time_zone text not null default 'UTC' check (time_zone ~ '^[A-Za-z0-9_+/-]{1,64}$'),
  add column enabled boolean not null default true,
  add column payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  add column next_fire_at timestamptz,
  add constraint schedules_enabled_next_fire check (enabled = (next_fire_at is not null));
create index schedules_tenant_due_idx on scheduler.schedules (tenant_id, next_fire_at) where enabled;
create table scheduler.runs (
  tenant_id text not null default nullif(current_setting('app.tenant_id', true), ''),
  id uuid not null default gen_random_uuid(),
  schedule_id uuid not null,
  scheduled_for timestamptz not null,
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts integer not null default 0 check (attempts >= 0),
  locked_by text check (length(locked_by) between 1 and 200),
  lease_expires_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint runs_one_per_tick unique (tenant_id, schedule_id, scheduled_for),
  foreign key (tenant_id, schedule_id) references scheduler.schedules (tenant_id, id) on delete cascade,
  constraint runs_running_has_lease check ((status = 'running') = (locked_by is not null and lease_expires_at is not null)),
  constraint runs_finished_at check ((status in ('succeeded', 'failed', 'cancelled')) = (finished_at is not null)),
  constraint runs_started_at check (status in ('queued', 'cancelled') or started_at is not null),
  constraint runs_error_only_failed check (error is null or status = 'failed')
);
create index runs_tenant_due_idx on scheduler.runs (tenant_id, scheduled_for) where status in ('queued', 'running');
create function scheduler.runs_guard_transition() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  if new.tenant_id is distinct from old.tenant_id or new.schedule_id is distinct from old.schedule_id or new.scheduled_for is distinct from old.scheduled_for then
    raise exception 'run % may not change its tenant, schedule or tick', old.id
      using errcode = 'check_violation', constraint = 'runs_status_transition', schema = tg_table_schema, table = tg_table_name;
  end if;
  if not ((old.status = 'queued' and new.status in ('queued', 'running', 'cancelled'))
       or (old.status = 'running' and new.status in ('running', 'succeeded', 'failed', 'cancelled'))) then
    raise exception 'run % may not go from % to %', old.id, old.status, new.status
      using errcode = 'check_violation', constraint = 'runs_status_transition', schema = tg_table_schema, table = tg_table_name,
            hint = 'runs go queued -> running -> succeeded, failed or cancelled (or queued -> cancelled); a finished run never changes';
  end if;
  return new;
end
$fn$;
revoke all on function scheduler.runs_guard_transition() from public;
create trigger runs_status_transition before update on scheduler.runs
  for each row execute function scheduler.runs_guard_transition();
alter table "scheduler"."runs" enable row level security;
alter table "scheduler"."runs" force row level security;
drop policy if exists "runs_tenant_isolation" on "scheduler"."runs";
create policy "runs_tenant_isolation" on "scheduler"."runs" as permissive for all using ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text) with check ("tenant_id" = nullif(current_setting('app.tenant_id', true), '')::text);
revoke create on schema "scheduler" from "stellaops_app";
grant usage on schema "scheduler" to "stellaops_app";
grant select, insert, update, delete on all tables in schema "scheduler" to "stellaops_app";
grant usage, select on all sequences in schema "scheduler" to "stellaops_app";
revoke all on table "scheduler"."_migrations" from "stellaops_app";
grant usage on schema scheduler to stellaops_scheduler_worker;
grant select, update (next_fire_at, updated_at) on scheduler.schedules to stellaops_scheduler_worker;
grant select, insert (tenant_id, schedule_id, scheduled_for) on scheduler.runs to stellaops_scheduler_worker;
grant update (status, attempts, locked_by, lease_expires_at, started_at, finished_at, error, updated_at) on scheduler.runs to stellaops_scheduler_worker;
create policy schedules_worker_read on scheduler.schedules as permissive for select to stellaops_scheduler_worker using (true);
create policy schedules_worker_advance on scheduler.schedules as permissive for update to stellaops_scheduler_worker using (enabled) with check (enabled);
create policy runs_worker_read on scheduler.runs as permissive for select to stellaops_scheduler_worker using (true);
create policy runs_worker_plan on scheduler.runs as permissive for insert to stellaops_scheduler_worker with check (status = 'queued');
create policy runs_worker_settle on scheduler.runs as permissive for update to stellaops_scheduler_worker
  using (status in ('queued', 'running')) with check (true)`,
  down: `drop table scheduler.runs;
drop policy schedules_worker_advance on scheduler.schedules;
drop policy schedules_worker_read on scheduler.schedules;
drop function scheduler.runs_guard_transition();
drop index scheduler.schedules_tenant_due_idx;
alter table scheduler.schedules drop constraint schedules_enabled_next_fire,
  drop column next_fire_at, drop column payload, drop column enabled, drop column time_zone, drop column cron;
revoke all on schema scheduler from stellaops_scheduler_worker;
revoke all on all tables in schema scheduler from stellaops_scheduler_worker`,
});
