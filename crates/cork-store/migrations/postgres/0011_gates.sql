-- Review gates and source-of-truth rules (issue 9). This file and its twin keep the
-- same versions and names.

-- One policy document per board (id: the board's): which writes need review, and which
-- parts of the board one integration owns.
CREATE TABLE board_policies (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

-- Writes held for review: the request as it was sent (without credentials), the dry
-- run's answer, and what became of it. Versioned: two approvals race on the row.
CREATE TABLE change_requests (
    id TEXT PRIMARY KEY,
    board_id TEXT,
    state TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX change_requests_board ON change_requests (board_id, state, id);
