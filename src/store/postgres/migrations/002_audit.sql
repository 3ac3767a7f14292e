-- The audit trail: append-only, one hash chain per partner (see src/domain/audit.ts). An entry is
-- inserted in the same transaction as the change it records. No foreign key to partners: the trail
-- is evidence and outlives what it describes.
CREATE TABLE audit_entries (
  partner_tenant_id text NOT NULL CHECK (partner_tenant_id <> ''),
  seq bigint NOT NULL CHECK (seq > 0),
  -- The change's own idempotency key: recording the same change again adds nothing.
  id text NOT NULL,
  -- Kept as the entry was hashed (ISO 8601 as the domain writes it), so the chain verifies.
  at text NOT NULL,
  actor_name text NOT NULL,
  actor_object_id text NOT NULL,
  actor_role text NOT NULL,
  verb text NOT NULL,
  customer_tenant_id text,
  subscription_id text,
  -- Masked to their last group.
  keys text[] NOT NULL DEFAULT '{}',
  -- What else identifies the change: names and values differ per verb.
  details jsonb NOT NULL DEFAULT '{}',
  outcome text NOT NULL CHECK (outcome IN ('done', 'refused')),
  reason text,
  prev char(64) NOT NULL,
  hash char(64) NOT NULL,
  PRIMARY KEY (partner_tenant_id, seq),
  UNIQUE (partner_tenant_id, id),
  CHECK ((outcome = 'refused') = (reason IS NOT NULL))
);
CREATE INDEX audit_entries_by_customer ON audit_entries (partner_tenant_id, customer_tenant_id, seq DESC) WHERE customer_tenant_id IS NOT NULL;
CREATE INDEX audit_entries_by_person ON audit_entries (partner_tenant_id, actor_object_id, seq DESC);

-- The end of each partner's chain; its row lock makes appends of one partner one after the other
-- across instances. The checkpoint is where a pruned trail begins.
CREATE TABLE audit_heads (
  partner_tenant_id text PRIMARY KEY,
  seq bigint NOT NULL CHECK (seq >= 0),
  hash char(64) NOT NULL,
  checkpoint_seq bigint,
  checkpoint_hash char(64),
  checkpoint_at text,
  checkpoint_pruned_at text,
  CHECK ((checkpoint_seq IS NULL) = (checkpoint_hash IS NULL) AND (checkpoint_seq IS NULL) = (checkpoint_at IS NULL) AND (checkpoint_seq IS NULL) = (checkpoint_pruned_at IS NULL))
);
