-- Rows as columns, not JSON, where the store compares them (see migrations/sqlite/0004_columns.sql).

ALTER TABLE holdings
    ADD COLUMN capability TEXT,
    ADD COLUMN via_group TEXT,
    ADD COLUMN external BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN valid_from BIGINT,
    ADD COLUMN valid_until BIGINT;
UPDATE holdings SET
    capability = holding::jsonb ->> 'capability',
    via_group = holding::jsonb -> 'source' ->> 'group',
    external = coalesce((holding::jsonb ->> 'external')::boolean, false),
    valid_from = (holding::jsonb ->> 'valid_from')::bigint,
    valid_until = (holding::jsonb ->> 'valid_until')::bigint;
ALTER TABLE holdings DROP COLUMN holding;

ALTER TABLE groups
    ADD COLUMN licenses TEXT NOT NULL DEFAULT '',
    ADD COLUMN external BOOLEAN NOT NULL DEFAULT false;
UPDATE groups SET
    licenses = coalesce((SELECT string_agg(l, ' ' ORDER BY n)
        FROM jsonb_array_elements_text(rule::jsonb -> 'licenses') WITH ORDINALITY AS e(l, n)), ''),
    external = coalesce((rule::jsonb ->> 'external')::boolean, false);
ALTER TABLE groups DROP COLUMN rule;

ALTER TABLE tokens
    ADD COLUMN subject_kind TEXT NOT NULL DEFAULT '',
    ADD COLUMN realm TEXT NOT NULL DEFAULT '',
    ADD COLUMN principal TEXT NOT NULL DEFAULT '';
UPDATE tokens SET
    subject_kind = subject::jsonb ->> 'kind',
    realm = coalesce(subject::jsonb ->> 'org', ''),
    principal = coalesce(subject::jsonb ->> 'username', subject::jsonb ->> 'user', subject::jsonb ->> 'client_id');
ALTER TABLE tokens DROP COLUMN subject;
CREATE INDEX tokens_by_subject ON tokens (realm, principal);
