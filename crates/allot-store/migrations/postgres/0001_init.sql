-- allot schema, version 1 (PostgreSQL). Same tables as migrations/sqlite/0001_init.sql.
-- The ledger is the record; the other license tables are its materialized balances,
-- kept in the same transaction, with the invariant as constraints.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);

CREATE TABLE products (
    code_key TEXT PRIMARY KEY,
    product  TEXT NOT NULL
);

CREATE TABLE orgs (
    org_key TEXT PRIMARY KEY,
    org_id  TEXT NOT NULL,
    name    TEXT NOT NULL
);

CREATE TABLE users (
    org_key TEXT NOT NULL REFERENCES orgs (org_key),
    user_id TEXT NOT NULL,
    profile TEXT NOT NULL,
    PRIMARY KEY (org_key, user_id)
);

CREATE TABLE groups (
    org_key  TEXT NOT NULL REFERENCES orgs (org_key),
    group_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    rule     TEXT NOT NULL,
    PRIMARY KEY (org_key, group_id)
);

CREATE TABLE members (
    org_key  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    seq      BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (org_key, group_id, user_id),
    FOREIGN KEY (org_key, group_id) REFERENCES groups (org_key, group_id),
    FOREIGN KEY (org_key, user_id) REFERENCES users (org_key, user_id)
);

CREATE TABLE tenants (
    org_key   TEXT NOT NULL REFERENCES orgs (org_key),
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (org_key, tenant_id)
);

CREATE TABLE pools (
    scope       TEXT NOT NULL,
    license     TEXT NOT NULL,
    quantity    BIGINT NOT NULL,
    allocated   BIGINT NOT NULL,
    valid_from  BIGINT,
    valid_until BIGINT,
    PRIMARY KEY (scope, license),
    CONSTRAINT pool_quantity_not_negative CHECK (quantity >= 0),
    CONSTRAINT pool_allocated_not_negative CHECK (allocated >= 0),
    CONSTRAINT pool_allocated_within_quantity CHECK (allocated <= quantity)
);

CREATE TABLE holdings (
    org_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    product TEXT NOT NULL,
    holding TEXT NOT NULL,
    PRIMARY KEY (org_key, user_id, product),
    FOREIGN KEY (org_key, user_id) REFERENCES users (org_key, user_id)
);

CREATE TABLE ledger (
    revision   BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    request_id TEXT NOT NULL,
    org_key    TEXT,
    user_id    TEXT,
    license    TEXT,
    kind       TEXT NOT NULL,
    delta      BIGINT NOT NULL,
    change     TEXT NOT NULL,
    PRIMARY KEY (revision, seq)
);
CREATE INDEX ledger_by_org ON ledger (org_key, revision, seq);

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_is_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();

CREATE TABLE credentials (
    realm         TEXT NOT NULL,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (realm, username)
);

CREATE TABLE api_clients (
    client_id   TEXT PRIMARY KEY,
    org_key     TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_clients_by_org ON api_clients (org_key);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
