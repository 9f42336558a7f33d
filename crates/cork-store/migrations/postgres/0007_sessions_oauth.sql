-- Member accounts in the browser and the token-issuing flows (/1/authorize, OAuth 1.0a).
-- This file and its PostgreSQL twin hold the same DDL. No secret is stored in a form that
-- works when read back, except an OAuth request token's signing secret (see below).

-- A member's password as an Argon2id PHC string; one row per member who has a password.
-- Kept apart from the member document, which is rendered on the wire.
CREATE TABLE member_passwords (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

-- Browser sessions: `id` is the SHA-256 of the cookie value, so a database leak yields no
-- usable session. `expires_at` is an ISO-8601 UTC date (sorts as text).
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX web_sessions_member ON web_sessions (member_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- OAuth 1.0a request tokens: `id` is the SHA-256 of the request token. The document keeps
-- the token's signing secret in clear (HMAC needs it; without the token it is useless),
-- the callback, and, once approved, the member, the grant and the verifier's hash.
-- Rows are deleted when exchanged or expired: each is single-use and lives minutes.
CREATE TABLE oauth_request_tokens (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX oauth_request_tokens_expires ON oauth_request_tokens (expires_at);

-- Nonces seen on signed OAuth requests, by SHA-256 of (key, timestamp, nonce), kept until
-- their timestamp leaves the accepted window: a replay hits the primary key.
CREATE TABLE oauth_nonces (
    id TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX oauth_nonces_expires ON oauth_nonces (expires_at);
