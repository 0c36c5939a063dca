-- Stored plans: validated once, applied later by id if the state they depend on is unchanged.
CREATE TABLE plans (
    id            TEXT PRIMARY KEY,
    org_key       TEXT NOT NULL,
    base_revision INTEGER NOT NULL,
    author        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    commands      TEXT NOT NULL,        -- JSON of [allot_core::Command]
    changes       TEXT NOT NULL         -- JSON of [allot_core::Change]: what applying it must do
) STRICT;
