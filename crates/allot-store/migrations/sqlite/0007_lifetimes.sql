-- When each user and group was made and last modified (Unix milliseconds, the ledger's
-- `at`), kept by the store in the transaction that writes the change, so that reading a
-- page's dates needs no replay of the ledger. What modifies what: see `Dates` in
-- crates/allot-store/src/writes.rs. created_at is 0 only for a row the ledger never made.

ALTER TABLE users ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN modified_at INTEGER;
ALTER TABLE groups ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN modified_at INTEGER;

-- A row's making is the last entry that created its id (an id may be deleted and made
-- again); SQLite takes `at` from the row holding the max(revision). Its modification is
-- the last entry after that revision that changed it: changes of the making's revision
-- are part of the making.
WITH made AS (
    SELECT org_key, user_id, max(revision) AS revision, at FROM ledger
    WHERE kind = 'user_created' GROUP BY org_key, user_id
)
UPDATE users SET created_at = made.at
FROM made WHERE made.org_key = users.org_key AND made.user_id = users.user_id;

WITH made AS (
    SELECT org_key, user_id, max(revision) AS revision FROM ledger
    WHERE kind = 'user_created' GROUP BY org_key, user_id
), changed AS (
    SELECT l.org_key, l.user_id, max(l.revision) AS revision, l.at FROM ledger l
    JOIN made ON made.org_key = l.org_key AND made.user_id = l.user_id AND l.revision > made.revision
    WHERE l.kind IN ('user_updated', 'member_added', 'member_removed')
    GROUP BY l.org_key, l.user_id
)
UPDATE users SET modified_at = changed.at
FROM changed WHERE changed.org_key = users.org_key AND changed.user_id = users.user_id;

WITH made AS (
    SELECT org_key, json_extract(change, '$.group') AS group_id, max(revision) AS revision, at FROM ledger
    WHERE kind = 'group_created' GROUP BY org_key, group_id
)
UPDATE groups SET created_at = made.at
FROM made WHERE made.org_key = groups.org_key AND made.group_id = groups.group_id;

WITH made AS (
    SELECT org_key, json_extract(change, '$.group') AS group_id, max(revision) AS revision FROM ledger
    WHERE kind = 'group_created' GROUP BY org_key, group_id
), changed AS (
    SELECT l.org_key, json_extract(l.change, '$.group') AS group_id, max(l.revision) AS revision, l.at
    FROM ledger l
    JOIN made ON made.org_key = l.org_key AND made.group_id = json_extract(l.change, '$.group')
        AND l.revision > made.revision
    WHERE l.kind IN ('rule_set', 'member_added', 'member_removed')
    GROUP BY l.org_key, json_extract(l.change, '$.group')
)
UPDATE groups SET modified_at = changed.at
FROM changed WHERE changed.org_key = groups.org_key AND changed.group_id = groups.group_id;
