-- Reminders (issue 21): a partner's ledger by cycle end date, so pruning the cycles long past (and
-- "upcoming reminders") reads the partner's rows only.
CREATE INDEX reminders_by_partner_and_end ON reminders (partner_tenant_id, end_date);
