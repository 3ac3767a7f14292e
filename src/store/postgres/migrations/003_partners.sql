-- The partner aggregate as it grew after 001: staff members' time zone and last welcome card, the
-- role book, and whether a partner has one yet.

-- The zone the person's Teams client reported last (IANA id).
ALTER TABLE staff_members ADD COLUMN time_zone text;
-- The last welcome card sent to the person's chat: the two events of one install welcome once.
ALTER TABLE staff_members ADD COLUMN welcome_conversation_id text;
ALTER TABLE staff_members ADD COLUMN welcome_activity_id text;
ALTER TABLE staff_members ADD COLUMN welcome_language text;
ALTER TABLE staff_members ADD COLUMN welcome_at timestamptz;
ALTER TABLE staff_members ADD CONSTRAINT staff_members_welcome_whole
  CHECK ((welcome_conversation_id IS NULL) = (welcome_language IS NULL) AND (welcome_conversation_id IS NULL) = (welcome_at IS NULL)
     AND (welcome_activity_id IS NULL OR welcome_conversation_id IS NOT NULL));

-- False for a partner whose data predates roles: its staff are upgraded (recorded) on first use.
-- Partners already here when this runs predate roles; every partner made from now on starts with an
-- (empty) book.
ALTER TABLE partners ADD COLUMN has_role_book boolean NOT NULL DEFAULT false;
ALTER TABLE partners ALTER COLUMN has_role_book SET DEFAULT true;

-- Who holds which role (Admin, Sales, Helpdesk agent); a person without a row has none.
CREATE TABLE partner_roles (
  partner_tenant_id text NOT NULL REFERENCES partners ON DELETE CASCADE,
  user_id text NOT NULL CHECK (user_id <> ''),
  role text NOT NULL CHECK (role IN ('admin', 'sales', 'helpdesk')),
  -- The name as last seen, for "Ask Jonas Keller (Admin agent)" without another lookup.
  name text NOT NULL,
  reason text NOT NULL CHECK (reason IN ('firstProfile', 'upgrade', 'assigned')),
  assigned_by text,
  assigned_at timestamptz NOT NULL,
  PRIMARY KEY (partner_tenant_id, user_id),
  CHECK ((reason = 'assigned') = (assigned_by IS NOT NULL))
);
