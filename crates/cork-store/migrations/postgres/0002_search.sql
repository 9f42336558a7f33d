-- Full-text search (GET /1/search). One row per searchable thing: a card (name, desc),
-- a comment, a checklist (name and items), a board, a workspace, a member. PostgreSQL
-- keeps a tsvector column with a GIN index; the SQLite twin uses an FTS5 table.
CREATE TABLE search_index (
    model_id TEXT PRIMARY KEY,
    model_type TEXT NOT NULL,
    card_id TEXT,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || body)) STORED
);
CREATE INDEX search_index_tsv ON search_index USING GIN (tsv);
CREATE INDEX search_index_type ON search_index (model_type);
