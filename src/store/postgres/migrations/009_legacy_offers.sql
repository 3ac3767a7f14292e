-- Offers of the old kind (no relationship), as files from before relationships hold them: the old
-- delegated admin accepted, and beside it a request of the old kind left open, which nobody can
-- answer any more and which runs out (src/domain/delegation.ts). No new offer is of the old kind,
-- so "one open per customer" (005) guarded nothing the bot still makes and refused such files at
-- db:import. What stays an invariant: a customer has at most one old delegated admin.
DROP INDEX offers_one_open_legacy_per_customer;
CREATE UNIQUE INDEX offers_one_accepted_legacy_per_customer ON offers (customer_tenant_id) WHERE relationship_id IS NULL AND status = 'accepted';
