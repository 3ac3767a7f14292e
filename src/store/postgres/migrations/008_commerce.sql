-- The embedded commerce on PostgreSQL, beyond 001: granular delegated admin relationships of its
-- tenants (Microsoft Graph's delegatedAdminRelationship, see src/domain/relationship.ts), and the
-- check value of the key-hash secret, so that every instance hashes keys with the same secret.

CREATE TABLE commerce_relationships (
  tenant_id uuid NOT NULL REFERENCES commerce_tenants ON DELETE CASCADE,
  -- Graph's id; the old all-or-nothing delegated admin, once ended, keeps its derived one (dap-…).
  id text NOT NULL CHECK (id <> '' AND char_length(id) <= 200),
  -- The order the tenant's relationships were made in (they are never removed).
  position integer NOT NULL CHECK (position >= 0),
  partner_tenant_id text NOT NULL CHECK (partner_tenant_id <> ''),
  -- The partner's request that made it: a retried request makes no second relationship.
  idempotency_key text NOT NULL,
  display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 50),
  -- The customer's name as the relationship carries it (Graph's customer.displayName).
  customer_display_name text NOT NULL,
  -- accessDetails.unifiedRoles[].roleDefinitionId, in the order requested.
  role_ids text[] NOT NULL CHECK (cardinality(role_ids) > 0),
  -- ISO 8601 (P730D); none only for the old delegated admin, which has no end.
  duration text,
  auto_extend_duration text NOT NULL CHECK (auto_extend_duration IN ('P180D', 'PT0S')),
  -- As last changed; what time changes (expiring, expired, an extension) is worked out on reading.
  status text NOT NULL CHECK (status IN ('created', 'approvalPending', 'active', 'expiring', 'expired', 'terminated')),
  created_at timestamptz NOT NULL,
  last_modified_at timestamptz NOT NULL,
  activated_at timestamptz,
  ends_at timestamptz,
  terminated_by text CHECK (terminated_by IN ('partner', 'customer')),
  legacy boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, partner_tenant_id, idempotency_key),
  CHECK (legacy OR duration IS NOT NULL)
);
-- Display names are unique among a partner's relationships with all its customers (Graph's rule;
-- case does not make a name new). The old delegated admin's fixed name is exempt.
CREATE UNIQUE INDEX commerce_relationship_names ON commerce_relationships (partner_tenant_id, lower(display_name)) WHERE NOT legacy;

-- One row: a keyed hash of a fixed text under the key-hash secret (never the secret itself). An
-- instance or key CLI with another secret would make hashes nobody finds; it is refused instead.
CREATE TABLE commerce_key_hash_check (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  check_value char(64) NOT NULL CHECK (check_value ~ '^[0-9a-f]{64}$'),
  recorded_at timestamptz NOT NULL DEFAULT now()
);

-- One renewal (or addition of keys) may redeem several keys (issue 16); 001 allowed one per renewal.
ALTER TABLE commerce_keys DROP CONSTRAINT commerce_keys_renewal_key;
CREATE INDEX commerce_keys_by_renewal ON commerce_keys (redeemed_for, renewal) WHERE renewal IS NOT NULL;
