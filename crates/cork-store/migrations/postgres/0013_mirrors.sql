-- Mirrors (issue 12): a local board kept in step with a board on another server that
-- speaks the Trello API. This file and its twin keep the same versions and names.

-- One row per mirrored board (id: the local board's, which is the source board's id):
-- the source, the cursor of the newest source action applied, and how the mirror fares.
-- The cursor moves in the same transaction as the changes it covers.
CREATE TABLE mirrors (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
