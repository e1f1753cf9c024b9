/**
 * Column definition of `tenant_id` in every Notify table: text, not null,
 * defaulting to the session's tenant (`app.tenant_id`, set transaction-locally
 * by postgres-core), so inserts made in a tenant session need not repeat it and
 * inserts without a tenant fail. RLS checks the value either way.
 */
export const TENANT_COLUMN = `tenant_id text not null default nullif(current_setting('app.tenant_id', true), '')`;
