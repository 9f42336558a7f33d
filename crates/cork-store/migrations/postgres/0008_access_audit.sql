-- Access audit (issue 4): who was refused, who was rate limited, which tokens were
-- issued, and uses of revoked tokens. Twin files hold the same DDL.

-- A revoked token keeps the SHA-256 of its secret here (its `token_hash` is replaced at
-- revocation), so a later request with it can be recognised and audited as a revoked
-- token rather than an unknown one. Only the hash is kept, never the secret.
ALTER TABLE tokens ADD COLUMN revoked_hash TEXT;
CREATE INDEX tokens_revoked_hash ON tokens (revoked_hash);

-- One row per audit event. `id` is an ObjectId, so rows sort by time and `since` pages
-- by id; `kind` is the event (`token.issued`, `token.revoked_use`, `http.401`,
-- `http.429`, `audit.dropped`); `doc` holds the event's fields as JSON. No row ever holds
-- a secret: no token value, password or query string.
CREATE TABLE access_audit (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL
);
