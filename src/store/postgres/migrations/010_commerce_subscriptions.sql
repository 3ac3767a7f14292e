-- A commerce tenant's subscriptions as the files keep them, which 001 did not allow:

-- In the order they were added. Which subscription a new user's license comes from, and which one
-- keys of a product add seats to, is the first that fits; 001 gave them back in id (random) order.
-- Existing rows keep the best order they can still have: by start date.
ALTER TABLE commerce_subscriptions ADD COLUMN position integer CHECK (position >= 0);
UPDATE commerce_subscriptions s SET position = ordered.position
  FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY start_date, id) - 1 AS position FROM commerce_subscriptions) ordered
  WHERE s.id = ordered.id;
ALTER TABLE commerce_subscriptions ALTER COLUMN position SET NOT NULL;

-- More seats assigned than paid for: a renewal with keys for fewer seats than are assigned is allowed
-- (the partner is warned and unassigns afterwards), as in the customers' own subscriptions table.
ALTER TABLE commerce_subscriptions DROP CONSTRAINT commerce_subscriptions_check;
ALTER TABLE commerce_subscriptions ADD CONSTRAINT commerce_subscriptions_assigned_seats_check CHECK (assigned_seats >= 0);
