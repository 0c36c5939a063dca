-- Checkpoints of each organization's books, every so many of its ledger entries: derived
-- data (rebuildable from the ledger, verified by check-ledger), so that the past is read
-- from the last checkpoint before a moment and the entries after it, not the whole ledger.
-- changes is the JSON of the allot_core changes that recreate the organization as it stood
-- after revision.
CREATE TABLE checkpoints (
    org_key  TEXT NOT NULL,
    revision INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    entries  INTEGER NOT NULL,        -- the organization's ledger entries up to revision
    changes  TEXT NOT NULL,
    PRIMARY KEY (org_key, revision)
) STRICT;
-- The revision committed last at or before a moment, without scanning the ledger.
CREATE INDEX ledger_by_at ON ledger (at, revision);
