-- Full-text search (GET /1/search). One row per searchable thing: a card (name, desc),
-- a comment, a checklist (name and items), a board, a workspace, a member. SQLite keeps
-- it in an FTS5 table; the PostgreSQL twin uses a tsvector column with a GIN index.
CREATE VIRTUAL TABLE search_index USING fts5(
    model_type UNINDEXED,
    model_id UNINDEXED,
    card_id UNINDEXED,
    name,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
