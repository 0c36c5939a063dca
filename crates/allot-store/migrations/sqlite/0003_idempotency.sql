-- Idempotency keys of native writes: the first answer for a key, replayed to retries.
-- The row is written pending (no answer yet) in the same transaction as the change.
CREATE TABLE idempotency (
    scope        TEXT NOT NULL,         -- who: keys of different callers never meet
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,         -- SHA-256 of method, path and body
    revision     INTEGER,               -- the change's revision, if it changed anything
    status       INTEGER,               -- the answer, once known
    content_type TEXT,
    etag         TEXT,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
