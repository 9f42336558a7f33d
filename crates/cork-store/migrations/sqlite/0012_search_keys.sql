-- FTS5 finds rows by rowid, not by its UNINDEXED columns: deleting an entry by
-- model_id (every card write re-indexes its card) scanned the whole index, so writes
-- slowed as the database grew. search_rows maps each entry's model and card to its
-- FTS5 rowid; removals look the rowid up here.
CREATE TABLE search_rows (
    entry INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL UNIQUE,
    card_id TEXT
);
CREATE INDEX search_rows_card ON search_rows (card_id);
INSERT INTO search_rows (entry, model_id, card_id) SELECT rowid, model_id, card_id FROM search_index;
