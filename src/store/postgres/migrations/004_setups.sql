-- What the setups table lacked of the domain's Setup (src/domain/setup.ts).

-- Keys for a customer who exists already: to renew one of its subscriptions, or to add keys to it
-- (SetupTargetSchema). Absent for a setup that creates a customer; whole or not at all.
ALTER TABLE setups
  ADD COLUMN target_kind text CHECK (target_kind IN ('renew', 'add')),
  ADD COLUMN target_customer_id text CHECK (length(target_customer_id) BETWEEN 1 AND 100),
  ADD COLUMN target_subscription_id text CHECK (length(target_subscription_id) BETWEEN 1 AND 100),
  ADD CONSTRAINT setups_target_whole CHECK (
    (target_kind IS NULL AND target_customer_id IS NULL AND target_subscription_id IS NULL)
    OR (target_kind = 'add' AND target_customer_id IS NOT NULL AND target_subscription_id IS NULL)
    OR (target_kind = 'renew' AND target_customer_id IS NOT NULL AND target_subscription_id IS NOT NULL));

-- The sweep that drops closed setups past their retention looks them up by when they closed.
CREATE INDEX setups_closed ON setups (closed_at) WHERE closed_at IS NOT NULL;
