-- Everything the bot persists, as tables: what the files keep per partner (profile, staff, customers,
-- subscriptions, offers, reminder ledger), the setup books and guessing guard, the reservation and
-- customer indexes, and the embedded commerce (key catalogue, tenants). Invariants are constraints,
-- so that every instance on this database keeps them. JSONB only for Bot Framework conversation
-- references and outgoing activities, whose shape belongs to the Bot Framework, not to us.

-- Partner organisations (a Teams tenant each) and their profile.
CREATE TABLE partners (
  tenant_id text PRIMARY KEY CHECK (tenant_id <> ''),
  organisation_name text,
  partner_id text CHECK (partner_id ~ '^\d{5,10}$'),
  cloud_essentials boolean,
  -- Where reminders are timed; UTC until the partner has chosen a zone.
  time_zone text NOT NULL DEFAULT 'UTC',
  profile_updated_at timestamptz,
  profile_updated_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The profile is all there or not at all.
  CHECK ((organisation_name IS NULL) = (partner_id IS NULL)
     AND (organisation_name IS NULL) = (cloud_essentials IS NULL)
     AND (organisation_name IS NULL) = (profile_updated_at IS NULL)
     AND (organisation_name IS NULL) = (profile_updated_by IS NULL))
);

-- Where each staff member can be reached proactively.
CREATE TABLE staff_members (
  partner_tenant_id text NOT NULL REFERENCES partners ON DELETE CASCADE,
  user_id text NOT NULL,
  name text NOT NULL,
  locale text,
  conversation jsonb NOT NULL,
  reachable boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (partner_tenant_id, user_id)
);

-- The team channel chosen with "send reminders here": one per partner.
CREATE TABLE reminder_channels (
  partner_tenant_id text PRIMARY KEY REFERENCES partners ON DELETE CASCADE,
  conversation jsonb NOT NULL,
  set_by text NOT NULL,
  set_at timestamptz NOT NULL,
  reachable boolean NOT NULL DEFAULT true
);

-- Customers a partner set up. The primary key makes a customer tenant belong to one partner: this
-- table is also the customer index (which partner set up a customer tenant).
CREATE TABLE customers (
  tenant_id text PRIMARY KEY CHECK (tenant_id <> ''),
  partner_tenant_id text NOT NULL REFERENCES partners ON DELETE CASCADE,
  name text NOT NULL,
  domain text NOT NULL,
  country char(2) NOT NULL,
  language text NOT NULL,
  admin_name text NOT NULL,
  admin_email text NOT NULL,
  admin_phone text NOT NULL,
  admin_user_principal_name text NOT NULL,
  admin_object_id text NOT NULL,
  created_at timestamptz NOT NULL,
  created_by_id text NOT NULL,
  created_by_name text NOT NULL,
  -- One customer per setup: a retried creation never records a second.
  setup_id uuid NOT NULL UNIQUE,
  admin_conversation jsonb,
  admin_reachable boolean,
  admin_contact_updated_at timestamptz,
  -- Bumped on every change of the customer or anything it holds (optimistic concurrency).
  version integer NOT NULL DEFAULT 0,
  CHECK ((admin_conversation IS NULL) = (admin_reachable IS NULL) AND (admin_conversation IS NULL) = (admin_contact_updated_at IS NULL)),
  -- What the subscriptions' partner column refers to.
  UNIQUE (tenant_id, partner_tenant_id)
);
-- A partner's customer list, in name order.
CREATE INDEX customers_by_partner_and_name ON customers (partner_tenant_id, lower(name), tenant_id);

CREATE TABLE subscriptions (
  id text PRIMARY KEY CHECK (id <> ''),
  customer_tenant_id text NOT NULL,
  -- The customer's partner, repeated so that finding due reminders joins the small partners table
  -- only; the foreign key keeps it the customer's.
  partner_tenant_id text NOT NULL,
  position integer NOT NULL,
  product text NOT NULL CHECK (product <> ''),
  seats integer NOT NULL CHECK (seats > 0),
  assigned_seats integer NOT NULL CHECK (assigned_seats >= 0),
  start_date date NOT NULL,
  end_date date NOT NULL,
  partner_of_record text,
  billing text NOT NULL DEFAULT 'partner' CHECK (billing IN ('partner', 'direct')),
  scheduled_switch_on date,
  scheduled_switch_by_id text,
  scheduled_switch_by_name text,
  -- A renewal sent to the backend and not yet answered.
  pending_renewal_request_id text,
  pending_renewal_key_handle text,
  -- The next day a reminder of the current cycle is due and not yet recorded (NULL: none); kept by
  -- the repository from the domain's reminder schedule, so finding due reminders is an index scan.
  next_reminder_on date,
  UNIQUE (customer_tenant_id, position),
  FOREIGN KEY (customer_tenant_id, partner_tenant_id) REFERENCES customers (tenant_id, partner_tenant_id) ON DELETE CASCADE,
  CHECK ((scheduled_switch_on IS NULL) = (scheduled_switch_by_id IS NULL) AND (scheduled_switch_on IS NULL) = (scheduled_switch_by_name IS NULL)),
  CHECK ((pending_renewal_request_id IS NULL) = (pending_renewal_key_handle IS NULL))
);
CREATE INDEX subscriptions_by_customer ON subscriptions (customer_tenant_id);
CREATE INDEX subscriptions_by_next_reminder ON subscriptions (next_reminder_on) WHERE next_reminder_on IS NOT NULL;
CREATE INDEX subscriptions_with_work ON subscriptions (customer_tenant_id) WHERE pending_renewal_request_id IS NOT NULL OR scheduled_switch_on IS NOT NULL;

-- Renewal requests applied, so a second press of the same card renews once.
CREATE TABLE subscription_renewals (
  subscription_id text NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
  request_id text NOT NULL,
  PRIMARY KEY (subscription_id, request_id)
);

-- Offers of delegated administration.
CREATE TABLE offers (
  id uuid PRIMARY KEY,
  customer_tenant_id text NOT NULL REFERENCES customers ON DELETE CASCADE,
  -- Oldest first, as the customer's offers are listed.
  position integer NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn', 'expired', 'ended')),
  message text NOT NULL CHECK (length(message) <= 2000),
  sent_at timestamptz NOT NULL,
  sent_by_id text NOT NULL,
  sent_by_name text NOT NULL,
  expires_at timestamptz NOT NULL,
  partner_conversation jsonb,
  delivery text NOT NULL CHECK (delivery IN ('waiting', 'delivered', 'unreachable')),
  customer_card_conversation jsonb,
  customer_card_activity_id text,
  answered_at timestamptz,
  answered_by_id text,
  answered_by_name text,
  ended_at timestamptz,
  ended_by_id text,
  ended_by_name text,
  partner_notice text CHECK (partner_notice IN ('pending', 'sent')),
  granting timestamptz,
  CHECK ((customer_card_conversation IS NULL) = (customer_card_activity_id IS NULL))
);
CREATE INDEX offers_by_customer ON offers (customer_tenant_id, position);
-- One open offer (pending or accepted) per customer.
CREATE UNIQUE INDEX offers_one_open_per_customer ON offers (customer_tenant_id) WHERE status IN ('pending', 'accepted');
-- What the offer sweep looks for.
CREATE INDEX offers_with_work ON offers (expires_at) WHERE status = 'pending' OR partner_notice = 'pending';

-- Users the partner added as delegated admin, by request, for idempotent retries.
CREATE TABLE added_users (
  customer_tenant_id text NOT NULL REFERENCES customers ON DELETE CASCADE,
  request_id uuid NOT NULL,
  user_principal_name text NOT NULL,
  product text NOT NULL,
  added_at timestamptz NOT NULL,
  PRIMARY KEY (customer_tenant_id, request_id)
);

-- The reminder ledger: each reminder of a subscription's cycle (end date) is recorded once.
CREATE TABLE reminders (
  subscription_id text NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
  end_date date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('before60', 'before30', 'before7', 'before1', 'expired', 'disabled', 'deletionSoon')),
  due_on date NOT NULL,
  partner_tenant_id text NOT NULL REFERENCES partners ON DELETE CASCADE,
  customer_tenant_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'skipped')),
  created_at timestamptz NOT NULL,
  sent_at timestamptz,
  -- Chats that already have this reminder, so a retry after a partial send doubles nothing.
  delivered_to text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (subscription_id, end_date, kind),
  -- One reminder per subscription, kind and due day.
  UNIQUE (subscription_id, kind, due_on),
  CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX reminders_queued ON reminders (partner_tenant_id) WHERE status = 'queued';

-- A partner's setups: keys on their way to a customer.
CREATE TABLE setups (
  id uuid PRIMARY KEY,
  partner_tenant_id text NOT NULL REFERENCES partners ON DELETE CASCADE,
  owner_id text NOT NULL CHECK (owner_id <> ''),
  owner_name text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- Bumped on every change; cards carry it, and an update names the revision it read.
  rev integer NOT NULL CHECK (rev >= 0),
  status text NOT NULL CHECK (status IN ('entering', 'reviewing', 'reserving', 'reserved', 'creating', 'completed', 'discarded', 'released')),
  reserved_until timestamptz,
  closed_at timestamptz,
  release_notice text CHECK (release_notice IN ('pending', 'sent')),
  customer_tenant_id text
);
CREATE INDEX setups_by_partner ON setups (partner_tenant_id, updated_at DESC);
CREATE INDEX setups_reservation_due ON setups (reserved_until) WHERE status = 'reserved';
CREATE INDEX setups_with_work ON setups (partner_tenant_id) WHERE status IN ('reserving', 'creating') OR release_notice = 'pending';

-- Step 2 of a setup: the customer's account as entered and checked.
CREATE TABLE setup_accounts (
  setup_id uuid PRIMARY KEY REFERENCES setups ON DELETE CASCADE,
  country char(2) NOT NULL,
  organisation_name text NOT NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  domain_prefix text NOT NULL,
  sign_in_name text NOT NULL,
  language text NOT NULL,
  partner_of_record boolean NOT NULL
);

CREATE TABLE setup_keys (
  id uuid PRIMARY KEY,
  setup_id uuid NOT NULL REFERENCES setups ON DELETE CASCADE,
  position integer NOT NULL,
  -- Keyed hash of the full key; the key itself is never stored.
  ref char(64) NOT NULL CHECK (ref ~ '^[0-9a-f]{64}$'),
  handle text NOT NULL CHECK (length(handle) BETWEEN 1 AND 200),
  last_group char(5) NOT NULL CHECK (last_group ~ '^[A-Z0-9]{5}$'),
  product text NOT NULL,
  seats integer NOT NULL CHECK (seats > 0),
  term_months integer NOT NULL CHECK (term_months > 0),
  UNIQUE (setup_id, ref),
  UNIQUE (setup_id, position)
);

-- Which setup holds which key: a key is held by one setup at a time.
CREATE TABLE key_reservations (
  key_ref char(64) PRIMARY KEY,
  setup_id uuid NOT NULL REFERENCES setups ON DELETE CASCADE,
  reserved_at timestamptz NOT NULL
);
CREATE INDEX key_reservations_by_setup ON key_reservations (setup_id);

-- The guard against guessing keys, per partner tenant, shared by every instance.
CREATE TABLE guess_guards (
  partner_tenant_id text PRIMARY KEY REFERENCES partners ON DELETE CASCADE,
  unknown_keys_at timestamptz[] NOT NULL DEFAULT '{}',
  locked_until timestamptz
);

-- Proactive messages, sent through this table: a sender claims a row (FOR UPDATE SKIP LOCKED) with a
-- lease, marks it sent when the connector accepts, or puts it back with a later next_attempt_at.
-- The unique key makes enqueuing the same message twice a no-op.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  unique_key text NOT NULL UNIQUE,
  -- The tenant whose rate Teams counts (about 50 requests per second per app and tenant).
  tenant_id text NOT NULL,
  conversation jsonb NOT NULL,
  activity jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  locked_until timestamptz,
  sent_at timestamptz,
  -- The id the connector gave the sent activity, to update it in place later.
  activity_id text,
  failed_at timestamptz,
  last_error text,
  CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX outbox_ready ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Sends per tenant and second, counted by every instance: Teams' rate holds for the app as a whole.
CREATE TABLE outbox_send_slots (
  tenant_id text NOT NULL,
  window_start timestamptz NOT NULL,
  used integer NOT NULL CHECK (used > 0),
  PRIMARY KEY (tenant_id, window_start)
);

-- The embedded commerce default: key catalogue and the customer tenants made from it.
CREATE TABLE commerce_tenants (
  tenant_id uuid PRIMARY KEY,
  -- One tenant per setup: the idempotency key of the creation.
  idempotency_key text NOT NULL UNIQUE,
  partner_tenant_id text NOT NULL,
  created_at timestamptz NOT NULL,
  organisation_name text NOT NULL,
  country char(2) NOT NULL,
  language text NOT NULL,
  domain text NOT NULL UNIQUE
);

CREATE TABLE commerce_keys (
  ref char(64) PRIMARY KEY CHECK (ref ~ '^[0-9a-f]{64}$'),
  product text NOT NULL,
  seats integer NOT NULL CHECK (seats > 0),
  term_months integer NOT NULL CHECK (term_months > 0),
  last_group char(5) NOT NULL CHECK (last_group ~ '^[A-Z0-9]{5}$'),
  -- A key hash is redeemed once: its one row goes from available to redeemed in one conditional update.
  status text NOT NULL CHECK (status IN ('available', 'redeemed', 'blocked')),
  issued_at timestamptz NOT NULL,
  redeemed_for uuid REFERENCES commerce_tenants ON DELETE SET NULL,
  -- The renewal the key was redeemed for (one key per renewal).
  renewal text UNIQUE,
  -- A redeemed key names its tenant; one that is not names none.
  CHECK ((status = 'redeemed') = (redeemed_for IS NOT NULL))
);

CREATE TABLE commerce_subscriptions (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES commerce_tenants ON DELETE CASCADE,
  product text NOT NULL,
  seats integer NOT NULL CHECK (seats > 0),
  assigned_seats integer NOT NULL CHECK (assigned_seats >= 0 AND assigned_seats <= seats),
  start_date date NOT NULL,
  end_date date NOT NULL,
  partner_of_record text,
  billing text NOT NULL DEFAULT 'partner' CHECK (billing IN ('partner', 'direct'))
);
CREATE INDEX commerce_subscriptions_by_tenant ON commerce_subscriptions (tenant_id);

-- Renewals applied, by idempotency key, so a retry extends nothing twice.
CREATE TABLE commerce_subscription_renewals (
  subscription_id uuid NOT NULL REFERENCES commerce_subscriptions ON DELETE CASCADE,
  idempotency_key text NOT NULL,
  PRIMARY KEY (subscription_id, idempotency_key)
);

CREATE TABLE commerce_users (
  object_id uuid PRIMARY KEY,
  -- The order users were added in (the first is the tenant's admin).
  position integer NOT NULL,
  tenant_id uuid NOT NULL REFERENCES commerce_tenants ON DELETE CASCADE,
  user_principal_name text NOT NULL,
  display_name text NOT NULL,
  email text,
  phone text,
  roles text[] NOT NULL DEFAULT '{}',
  licenses text[] NOT NULL DEFAULT '{}',
  -- The idempotency key of the delegated admin's request that added the user, if any.
  added_by_request text,
  UNIQUE (tenant_id, user_principal_name),
  UNIQUE (tenant_id, added_by_request)
);

CREATE TABLE commerce_delegated_admins (
  tenant_id uuid NOT NULL REFERENCES commerce_tenants ON DELETE CASCADE,
  partner_tenant_id text NOT NULL,
  roles text[] NOT NULL,
  since timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, partner_tenant_id)
);
