-- Webhooks and their outbox. A webhook belongs to one token; `model_id` is what it
-- watches. The unique index is Trello's duplicate rule (callback, model, token).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    active BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX webhooks_callback_model_token ON webhooks (token_id, model_id, callback_url);
CREATE INDEX webhooks_model ON webhooks (model_id);

-- One row per (webhook, action): written in the action's own transaction, sent by
-- the delivery worker. `state` is pending|sent|failed; `due_at` and `lease_until`
-- are epoch milliseconds. A worker claims a due row by setting `lease_until` in one
-- UPDATE, so two workers never send the same row at once; a crashed worker's lease
-- simply runs out. `seq` is assigned at insert and orders a webhook's deliveries
-- (ids from two processes within one second need not sort by time).
CREATE TABLE webhook_deliveries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, due_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, state, seq);
