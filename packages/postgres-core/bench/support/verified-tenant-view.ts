// Shared by the policy benches: the verified-tenant check as a view (measured, not shipped).
/** The verified-tenant check written as an owner's security_barrier view (inlined into each plan; no function call). */
export const VERIFIED_TENANT_VIEW_SQL = `create view stellaops_security.verified_tenant with (security_barrier) as
  select s.tenant
    from (select nullif(pg_catalog.current_setting('app.tenant_id', true), '') as tenant,
                 pg_catalog.current_setting('app.tenant_proof', true) as proof) s
    join stellaops_security.tenant_keys k on k.key_id = pg_catalog.split_part(s.proof, '.', 1)
   where pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.split_part(s.proof, '.', 2), 'UTF8'))
       = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(pg_catalog.sha256(
           k.outer_pad || pg_catalog.sha256(k.inner_pad || pg_catalog.convert_to(s.tenant, 'UTF8'))), 'hex'), 'UTF8'))`;
