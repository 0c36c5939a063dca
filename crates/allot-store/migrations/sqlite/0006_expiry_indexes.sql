-- Housekeeping purges what has expired a batch at a time: indexes on the expiry columns
-- keep each batch from scanning the whole table.
CREATE INDEX tokens_by_expiry ON tokens (kind, expires_at);
CREATE INDEX plans_by_expiry ON plans (expires_at);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
