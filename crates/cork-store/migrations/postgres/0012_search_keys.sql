-- A card's deletion removes its comments' and checklists' entries by card_id.
-- (The SQLite twin adds search_rows, its FTS5 rowid map.)
CREATE INDEX search_index_card ON search_index (card_id);
