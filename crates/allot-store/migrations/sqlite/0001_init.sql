-- allot schema, version 1. The ledger is the record; the other license tables are its
-- materialized balances, kept in the same transaction, with the invariant as constraints.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('revision', 0);

CREATE TABLE products (
    code_key TEXT PRIMARY KEY,          -- lower-case code
    product  TEXT NOT NULL              -- JSON of allot_core::Product
) STRICT;

CREATE TABLE orgs (
    org_key TEXT PRIMARY KEY,           -- canonical id: lower case, '_' as '-'
    org_id  TEXT NOT NULL,
    name    TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    org_key TEXT NOT NULL REFERENCES orgs (org_key),
    user_id TEXT NOT NULL,
    profile TEXT NOT NULL,              -- JSON of allot_core::UserProfile
    PRIMARY KEY (org_key, user_id)
) STRICT;

CREATE TABLE groups (
    org_key  TEXT NOT NULL REFERENCES orgs (org_key),
    group_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    rule     TEXT NOT NULL,             -- JSON of allot_core::Rule
    PRIMARY KEY (org_key, group_id)
) STRICT;

CREATE TABLE members (
    org_key  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    seq      INTEGER NOT NULL UNIQUE,   -- order of joining, first come first served
    PRIMARY KEY (org_key, group_id, user_id),
    FOREIGN KEY (org_key, group_id) REFERENCES groups (org_key, group_id),
    FOREIGN KEY (org_key, user_id) REFERENCES users (org_key, user_id)
) STRICT;

CREATE TABLE tenants (
    org_key   TEXT NOT NULL REFERENCES orgs (org_key),
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (org_key, tenant_id)
) STRICT;

-- One row per scope and license. scope is '' for the host, 'org:<org_key>' or
-- 'tenant:<org_key>/<tenant>/<service>'.
CREATE TABLE pools (
    scope       TEXT NOT NULL,
    license     TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    allocated   INTEGER NOT NULL,
    valid_from  INTEGER,
    valid_until INTEGER,
    PRIMARY KEY (scope, license),
    CONSTRAINT pool_quantity_not_negative CHECK (quantity >= 0),
    CONSTRAINT pool_allocated_not_negative CHECK (allocated >= 0),
    CONSTRAINT pool_allocated_within_quantity CHECK (allocated <= quantity)
) STRICT;

CREATE TABLE holdings (
    org_key     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    product     TEXT NOT NULL,
    holding     TEXT NOT NULL,          -- JSON of allot_core::Holding
    PRIMARY KEY (org_key, user_id, product),
    FOREIGN KEY (org_key, user_id) REFERENCES users (org_key, user_id)
) STRICT;

CREATE TABLE ledger (
    revision   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,        -- Unix milliseconds
    actor      TEXT NOT NULL,
    request_id TEXT NOT NULL,
    org_key    TEXT,
    user_id    TEXT,
    license    TEXT,
    kind       TEXT NOT NULL,
    delta      INTEGER NOT NULL,
    change     TEXT NOT NULL,           -- JSON of allot_core::Change
    PRIMARY KEY (revision, seq)
) STRICT;
CREATE INDEX ledger_by_org ON ledger (org_key, revision, seq);

CREATE TRIGGER ledger_is_append_only_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_is_append_only_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Who may log in. realm is '' for host administrators, else the organization key.
CREATE TABLE credentials (
    realm         TEXT NOT NULL,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,        -- Argon2id PHC string
    PRIMARY KEY (realm, username)
) STRICT;

CREATE TABLE api_clients (
    client_id   TEXT PRIMARY KEY,
    org_key     TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,          -- SHA-256 of the secret, hex
    scopes      TEXT NOT NULL,          -- space-separated
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX api_clients_by_org ON api_clients (org_key);

-- Tokens are stored only as the SHA-256 of the token.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,           -- 'access' or 'refresh'
    subject    TEXT NOT NULL,           -- JSON of allot_store::Subject
    scopes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
