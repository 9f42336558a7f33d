-- Custom fields and notifications. This file and its PostgreSQL twin hold the same DDL.

-- Custom field definitions (Trello's CustomField): one row per field of a board, its
-- dropdown options kept inside `doc`. Reads list a board's fields in `pos` order.
CREATE TABLE custom_fields (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    pos DOUBLE PRECISION NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX custom_fields_board ON custom_fields (board_id, pos);

-- Values of custom fields on cards (Trello's CustomFieldItem), at most one per card and
-- field. board_id is the board of the field, so that a board view reads every value of
-- its cards in one statement, and a card moved to another board stops showing values of
-- fields it no longer has. A cleared value is a deleted row, as on Trello.
CREATE TABLE custom_field_items (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    field_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (card_id, field_id)
);
CREATE INDEX custom_field_items_board ON custom_field_items (board_id);
CREATE INDEX custom_field_items_field ON custom_field_items (field_id);

-- Notifications, one row per recipient (member_id). type and unread (0/1) are the
-- filters of GET /members/{id}/notifications; card_id lets
-- POST /cards/{id}/markAssociatedNotificationsRead find a card's rows. Ids sort by
-- creation, so a member's notifications page newest first by id.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    type TEXT NOT NULL,
    card_id TEXT,
    unread BIGINT NOT NULL DEFAULT 1,
    doc TEXT NOT NULL
);
CREATE INDEX notifications_member ON notifications (member_id, id);
CREATE INDEX notifications_card ON notifications (card_id, member_id);

-- A member's blocked notification keys per delivery channel (Trello knows only "email").
CREATE TABLE notification_channel_settings (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (member_id, channel)
);
