-- Granular delegated admin relationships (GDAP) on offers: an offer is the chat's side of one
-- relationship, and the relationship as the backend last returned it is kept in columns (Graph's
-- delegatedAdminRelationship: roles, duration, auto-extension, status, dates), with the end
-- reminders handled for it. A customer may hold several relationships with its partner, so the old
-- "one open offer per customer" holds only for offers of the old kind (no relationship).

-- The customer's partner, repeated so a partner's relationships are one index away (display names
-- are unique among them); the foreign key keeps it the customer's.
ALTER TABLE offers ADD COLUMN partner_tenant_id text;
UPDATE offers o SET partner_tenant_id = c.partner_tenant_id FROM customers c WHERE c.tenant_id = o.customer_tenant_id;
ALTER TABLE offers ALTER COLUMN partner_tenant_id SET NOT NULL;
ALTER TABLE offers ADD FOREIGN KEY (customer_tenant_id, partner_tenant_id) REFERENCES customers (tenant_id, partner_tenant_id) ON DELETE CASCADE;

ALTER TABLE offers
  ADD COLUMN relationship_id text CHECK (length(relationship_id) BETWEEN 1 AND 200),
  ADD COLUMN relationship_display_name text CHECK (length(relationship_display_name) BETWEEN 1 AND 50),
  -- The customer's name as the backend gave it with the relationship.
  ADD COLUMN relationship_customer_name text,
  -- Entra role template ids, in the backend's order.
  ADD COLUMN relationship_role_ids text[] CHECK (cardinality(relationship_role_ids) >= 1),
  -- ISO 8601 (P730D); none only on the old all-or-nothing delegated admin.
  ADD COLUMN relationship_duration text,
  ADD COLUMN relationship_auto_extend text CHECK (relationship_auto_extend IN ('P180D', 'PT0S')),
  ADD COLUMN relationship_status text CHECK (relationship_status IN ('created', 'approvalPending', 'active', 'expiring', 'expired', 'terminated')),
  ADD COLUMN relationship_created_at timestamptz,
  ADD COLUMN relationship_modified_at timestamptz,
  ADD COLUMN relationship_activated_at timestamptz,
  ADD COLUMN relationship_end_at timestamptz,
  ADD COLUMN relationship_terminated_by text CHECK (relationship_terminated_by IN ('partner', 'customer')),
  ADD COLUMN relationship_legacy boolean NOT NULL DEFAULT false,
  -- End reminders handled (sent, or skipped when a later one overtook them): each once. NULL: none yet.
  ADD COLUMN reminders text[] CHECK (reminders <@ ARRAY['before30', 'before7', 'before1']),
  -- A reminder recorded and not yet delivered: recorded before it is sent.
  ADD COLUMN reminder_due text CHECK (reminder_due IN ('before30', 'before7', 'before1')),
  -- A relationship is there whole or not at all.
  ADD CHECK ((relationship_id IS NULL) = (relationship_display_name IS NULL)
     AND (relationship_id IS NULL) = (relationship_customer_name IS NULL)
     AND (relationship_id IS NULL) = (relationship_role_ids IS NULL)
     AND (relationship_id IS NULL) = (relationship_auto_extend IS NULL)
     AND (relationship_id IS NULL) = (relationship_status IS NULL)
     AND (relationship_id IS NULL) = (relationship_created_at IS NULL)
     AND (relationship_id IS NULL) = (relationship_modified_at IS NULL)),
  ADD CHECK (reminder_due IS NULL OR reminder_due = ANY (reminders));

DROP INDEX offers_one_open_per_customer;
-- An offer of the old kind stays one open (pending or accepted) per customer.
CREATE UNIQUE INDEX offers_one_open_legacy_per_customer ON offers (customer_tenant_id) WHERE relationship_id IS NULL AND status IN ('pending', 'accepted');
-- One offer per relationship.
CREATE UNIQUE INDEX offers_one_per_relationship ON offers (partner_tenant_id, relationship_id) WHERE relationship_id IS NOT NULL;
-- A relationship's display name is unique among the partner's relationships, whatever their status (Graph's rule).
CREATE UNIQUE INDEX offers_relationship_name_per_partner ON offers (partner_tenant_id, lower(relationship_display_name)) WHERE relationship_id IS NOT NULL;

-- What the offer sweep looks for: open requests, notices to send, end reminders still to handle.
DROP INDEX offers_with_work;
CREATE INDEX offers_with_work ON offers (customer_tenant_id)
  WHERE status = 'pending' OR partner_notice = 'pending'
     OR (status = 'accepted' AND relationship_id IS NOT NULL AND (reminder_due IS NOT NULL OR (relationship_auto_extend = 'PT0S' AND coalesce(cardinality(reminders), 0) < 3)));
