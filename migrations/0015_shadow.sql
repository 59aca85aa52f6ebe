-- Shadow mode (issue 14): a candidate runs beside what a tenant enforces. The platform names a
-- release or its draft (`shadow_release`: 'draft' or the release's number), a tenant a revision of
-- its own policies (`shadow_revision`); each live decision of the tenant is also decided by the
-- candidate, and its receipt records the candidate's verdict and the rule that settled it beside
-- the enforced one. The answer is never changed.
ALTER TABLE tenants ADD COLUMN shadow_release TEXT;
ALTER TABLE tenants ADD COLUMN shadow_revision BIGINT;
ALTER TABLE receipts ADD COLUMN shadow_of TEXT;
ALTER TABLE receipts ADD COLUMN shadow_verdict TEXT CHECK (shadow_verdict IN ('allow', 'deny', 'require_approval'));
ALTER TABLE receipts ADD COLUMN shadow_rule TEXT;
