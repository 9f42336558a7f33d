-- Uploaded files' owners, stickers, reactions and member preferences. This file and its
-- PostgreSQL twin hold the same DDL. Uploaded bytes live in the data directory (named
-- by a random key kept in `doc`), never in the database.

-- Stickers placed on cards (Trello's Sticker): read per card, removed with the card.
CREATE TABLE stickers (
    id TEXT PRIMARY KEY,
    card_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX stickers_card ON stickers (card_id);

-- Images a member uploaded to use as stickers (Trello's CustomSticker).
CREATE TABLE custom_stickers (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX custom_stickers_member ON custom_stickers (member_id);

-- Images a member uploaded as emoji (Trello's CustomEmoji); a name is used once per member.
CREATE TABLE custom_emoji (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (member_id, name)
);

-- Images a member uploaded as board backgrounds (Trello's custom BoardBackground).
CREATE TABLE board_backgrounds (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX board_backgrounds_member ON board_backgrounds (member_id);

-- Emoji reactions on actions (comments). `emoji` is the emoji's base `unified` code: the
-- unique key lets a member react once per emoji per action, whatever the skin tone.
CREATE TABLE reactions (
    id TEXT PRIMARY KEY,
    action_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (action_id, member_id, emoji)
);

-- A member's own preferences on one board (Trello's board `myPrefs`); a row exists only
-- once the member changed something, defaults fill the rest.
CREATE TABLE board_my_prefs (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (board_id, member_id)
);

-- A member's saved searches, listed in `pos` order.
CREATE TABLE saved_searches (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX saved_searches_member ON saved_searches (member_id, pos);
