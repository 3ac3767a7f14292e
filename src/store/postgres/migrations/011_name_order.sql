-- A partner's customer list in alphabetical order as a person reads it, and without case for every
-- letter: lower(name) under the database's collation sorted "Ärztehaus" after "Zahnarzt" and, under
-- the C collation, left "Ä" upper case, so "ärzte" did not find it. Unicode's root collation (ICU,
-- "und-x-icu") is the order the file store gives (src/domain/customer.ts, byName).
DROP INDEX customers_by_partner_and_name;
CREATE INDEX customers_by_partner_and_name ON customers (partner_tenant_id, name COLLATE "und-x-icu", tenant_id);

-- A relationship's display name is taken whatever the case of any of its letters ("Übergabe" and
-- "übergabe"), as the domain compares them, not only of A to Z.
DROP INDEX offers_relationship_name_per_partner;
CREATE UNIQUE INDEX offers_relationship_name_per_partner ON offers (partner_tenant_id, lower(relationship_display_name COLLATE "und-x-icu")) WHERE relationship_id IS NOT NULL;
DROP INDEX commerce_relationship_names;
CREATE UNIQUE INDEX commerce_relationship_names ON commerce_relationships (partner_tenant_id, lower(display_name COLLATE "und-x-icu")) WHERE NOT legacy;
