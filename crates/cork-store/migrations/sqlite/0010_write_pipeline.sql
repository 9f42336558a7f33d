-- The write pipeline (issue 9). This file and its twin keep the same versions and names.

-- Every object row carries a version: saves are compare-and-set on it, so two writers
-- (two Cork nodes on one PostgreSQL) never silently undo each other. It is also the
-- object's ETag.
ALTER TABLE members ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE boards ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lists ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE labels ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE checklists ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE custom_fields ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE custom_field_items ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- A board's dateLastActivity, moved by every write on the board without rewriting the
-- board's document (reads lay it over the document; NULL means the document's own).
ALTER TABLE boards ADD COLUMN last_activity TEXT;

-- Each action is stamped with the request (command) that wrote it and the token and
-- application key it came through, so one integration's changes can be found again.
ALTER TABLE actions ADD COLUMN command_id TEXT;
ALTER TABLE actions ADD COLUMN token_id TEXT;
ALTER TABLE actions ADD COLUMN app_key TEXT;
CREATE INDEX actions_command ON actions (command_id);
CREATE INDEX actions_token ON actions (token_id, id);
CREATE INDEX actions_app_key ON actions (app_key, id);

-- The first answer to a write sent with an Idempotency-Key, stored in the write's own
-- transaction and replayed to retries for 24 hours. scope is a hash of the caller's
-- credentials, fingerprint a hash of the request.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT NOT NULL,
    content_type TEXT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
