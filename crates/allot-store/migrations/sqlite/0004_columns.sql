-- Rows as columns, not JSON, where the store compares them: conditional writes compare a
-- holding's or a rule's columns, and revocations a token's subject, so a change in how a
-- type serializes cannot silently break them.

ALTER TABLE holdings ADD COLUMN capability TEXT;
ALTER TABLE holdings ADD COLUMN via_group TEXT;          -- NULL: held directly
ALTER TABLE holdings ADD COLUMN external INTEGER NOT NULL DEFAULT 0;
ALTER TABLE holdings ADD COLUMN valid_from INTEGER;
ALTER TABLE holdings ADD COLUMN valid_until INTEGER;
UPDATE holdings SET
    capability = json_extract(holding, '$.capability'),
    via_group = json_extract(holding, '$.source.group'),
    external = coalesce(json_extract(holding, '$.external'), 0),
    valid_from = json_extract(holding, '$.valid_from'),
    valid_until = json_extract(holding, '$.valid_until');
ALTER TABLE holdings DROP COLUMN holding;

ALTER TABLE groups ADD COLUMN licenses TEXT NOT NULL DEFAULT '';   -- license keys, space-separated, in order
ALTER TABLE groups ADD COLUMN external INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET
    licenses = coalesce((SELECT group_concat(value, ' ' ORDER BY key) FROM json_each(groups.rule, '$.licenses')), ''),
    external = coalesce(json_extract(rule, '$.external'), 0);
ALTER TABLE groups DROP COLUMN rule;

-- A token's subject: 'host_admin' (realm ''), 'org_user' or 'client' (realm: the organization key).
ALTER TABLE tokens ADD COLUMN subject_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN realm TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN principal TEXT NOT NULL DEFAULT '';
UPDATE tokens SET
    subject_kind = json_extract(subject, '$.kind'),
    realm = coalesce(json_extract(subject, '$.org'), ''),
    principal = coalesce(json_extract(subject, '$.username'), json_extract(subject, '$.user'),
        json_extract(subject, '$.client_id'));
ALTER TABLE tokens DROP COLUMN subject;
CREATE INDEX tokens_by_subject ON tokens (realm, principal);
