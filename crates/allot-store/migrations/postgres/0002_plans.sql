-- Stored plans: validated once, applied later by id if the state they depend on is unchanged.
CREATE TABLE plans (
    id            TEXT PRIMARY KEY,
    org_key       TEXT NOT NULL,
    base_revision BIGINT NOT NULL,
    author        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    commands      TEXT NOT NULL,
    changes       TEXT NOT NULL
);
