-- Customers and subscriptions as the domain keeps them now (issue 16, 18 and 21): the admin's last
-- password reset (who and when, never the password) and a reset under way, keyed by the press
-- that asked for it, so a second press of the same card makes no second password; renewals in the
-- order they were applied.
ALTER TABLE customers
  ADD COLUMN admin_password_reset_at timestamptz,
  ADD COLUMN admin_password_reset_by_id text,
  ADD COLUMN admin_password_reset_by_name text,
  -- Resets from before cards carried a request id have none.
  ADD COLUMN admin_password_reset_request_id uuid,
  ADD COLUMN admin_password_reset_pending_at timestamptz,
  ADD COLUMN admin_password_reset_pending_by_id text,
  ADD COLUMN admin_password_reset_pending_by_name text,
  ADD COLUMN admin_password_reset_pending_request_id uuid,
  ADD CHECK ((admin_password_reset_at IS NULL) = (admin_password_reset_by_id IS NULL)
         AND (admin_password_reset_at IS NULL) = (admin_password_reset_by_name IS NULL)
         AND (admin_password_reset_at IS NOT NULL OR admin_password_reset_request_id IS NULL)),
  ADD CHECK ((admin_password_reset_pending_at IS NULL) = (admin_password_reset_pending_by_id IS NULL)
         AND (admin_password_reset_pending_at IS NULL) = (admin_password_reset_pending_by_name IS NULL)
         AND (admin_password_reset_pending_at IS NULL) = (admin_password_reset_pending_request_id IS NULL));

-- The order renewals were applied in (the files keep them as a list).
ALTER TABLE subscription_renewals ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
