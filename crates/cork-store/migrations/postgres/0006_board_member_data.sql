-- Small per-board values, some per member: the board's calendar feed key, a
-- member's email-to-board key, the last time a member viewed the board. `id` is
-- "<board>:<member or *>:<kind>", so each value is one row that is simply replaced.
CREATE TABLE board_member_data (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX board_member_data_board ON board_member_data (board_id);
