-- When each user and group was made and last modified (see migrations/sqlite/0007_lifetimes.sql).

ALTER TABLE users ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0, ADD COLUMN modified_at BIGINT;
ALTER TABLE groups ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0, ADD COLUMN modified_at BIGINT;

-- A row's making is the last entry that created its id; its modification the last entry
-- after that revision that changed it.
WITH made AS (
    SELECT DISTINCT ON (org_key, user_id) org_key, user_id, revision, at FROM ledger
    WHERE kind = 'user_created' ORDER BY org_key, user_id, revision DESC
)
UPDATE users SET created_at = made.at
FROM made WHERE made.org_key = users.org_key AND made.user_id = users.user_id;

WITH made AS (
    SELECT DISTINCT ON (org_key, user_id) org_key, user_id, revision FROM ledger
    WHERE kind = 'user_created' ORDER BY org_key, user_id, revision DESC
), changed AS (
    SELECT DISTINCT ON (l.org_key, l.user_id) l.org_key, l.user_id, l.at FROM ledger l
    JOIN made ON made.org_key = l.org_key AND made.user_id = l.user_id AND l.revision > made.revision
    WHERE l.kind IN ('user_updated', 'member_added', 'member_removed')
    ORDER BY l.org_key, l.user_id, l.revision DESC
)
UPDATE users SET modified_at = changed.at
FROM changed WHERE changed.org_key = users.org_key AND changed.user_id = users.user_id;

WITH made AS (
    SELECT DISTINCT ON (org_key, change::jsonb ->> 'group') org_key, change::jsonb ->> 'group' AS group_id, at
    FROM ledger WHERE kind = 'group_created' ORDER BY org_key, change::jsonb ->> 'group', revision DESC
)
UPDATE groups SET created_at = made.at
FROM made WHERE made.org_key = groups.org_key AND made.group_id = groups.group_id;

WITH made AS (
    SELECT DISTINCT ON (org_key, change::jsonb ->> 'group') org_key, change::jsonb ->> 'group' AS group_id, revision
    FROM ledger WHERE kind = 'group_created' ORDER BY org_key, change::jsonb ->> 'group', revision DESC
), changed AS (
    SELECT DISTINCT ON (l.org_key, l.change::jsonb ->> 'group') l.org_key, l.change::jsonb ->> 'group' AS group_id, l.at
    FROM ledger l
    JOIN made ON made.org_key = l.org_key AND made.group_id = l.change::jsonb ->> 'group'
        AND l.revision > made.revision
    WHERE l.kind IN ('rule_set', 'member_added', 'member_removed')
    ORDER BY l.org_key, l.change::jsonb ->> 'group', l.revision DESC
)
UPDATE groups SET modified_at = changed.at
FROM changed WHERE changed.org_key = groups.org_key AND changed.group_id = groups.group_id;
