-- Cork's core schema. Every Trello object is one row: the columns a query filters,
-- joins or sorts on, and `doc`, the object's stored fields as JSON text. The domain
-- owns the meaning of `doc`; the store only indexes the columns.
-- This file and its PostgreSQL twin keep the same versions and names.

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    doc TEXT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);

-- Board and workspace memberships share one table: model_id is a board or an organization id.
CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (model_id, member_id)
);
CREATE INDEX memberships_member ON memberships (member_id);

CREATE TABLE boards (
    id TEXT PRIMARY KEY,
    short_link TEXT NOT NULL UNIQUE,
    org_id TEXT,
    closed BIGINT NOT NULL DEFAULT 0,
    -- per-board card counter for idShort; bumped with UPDATE ... RETURNING so that
    -- concurrent writers (several nodes on PostgreSQL) never hand out the same number
    card_seq BIGINT NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX boards_org ON boards (org_id);

CREATE TABLE lists (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    closed BIGINT NOT NULL DEFAULT 0,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX lists_board ON lists (board_id, pos);

CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    short_link TEXT NOT NULL UNIQUE,
    board_id TEXT NOT NULL,
    list_id TEXT NOT NULL,
    closed BIGINT NOT NULL DEFAULT 0,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX cards_board ON cards (board_id, pos);
CREATE INDEX cards_list ON cards (list_id, pos);

-- which member is on which card: kept as rows so /members/{id}/cards needs no scan
CREATE TABLE card_members (
    card_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (card_id, member_id)
);
CREATE INDEX card_members_member ON card_members (member_id);

CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX labels_board ON labels (board_id);

CREATE TABLE checklists (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX checklists_card ON checklists (card_id, pos);
CREATE INDEX checklists_board ON checklists (board_id);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    card_id TEXT NOT NULL,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX attachments_card ON attachments (card_id, pos);

CREATE TABLE board_stars (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    board_id TEXT NOT NULL,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (member_id, board_id)
);

-- The action log: the system of record. Ids are time-ordered, so ORDER BY id is date order.
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    member_id TEXT NOT NULL,
    board_id TEXT,
    list_id TEXT,
    card_id TEXT,
    org_id TEXT,
    -- the member the action is about (addMemberToCard, makeAdminOfBoard, ...)
    subject_member_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX actions_board ON actions (board_id, id);
CREATE INDEX actions_card ON actions (card_id, id);
CREATE INDEX actions_list ON actions (list_id, id);
CREATE INDEX actions_org ON actions (org_id, id);
CREATE INDEX actions_member ON actions (member_id, id);

-- Application keys: `id` is the 32-hex key itself.
CREATE TABLE app_keys (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX app_keys_member ON app_keys (member_id);

-- Tokens are stored by the SHA-256 of the token: a database leak reveals no usable token.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    member_id TEXT NOT NULL,
    app_key TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX tokens_member ON tokens (member_id);
