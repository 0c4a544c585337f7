-- +goose Up

-- Exports of the history (the audit export, a task's drill evidence) are
-- limited per person, whichever export and replica: a few in a row, then
-- one per interval. busy_until is when the person's exports so far are
-- paid off at that rate (the generic cell rate algorithm): an export is
-- allowed while busy_until lies no more than the rest of the burst ahead.
-- One row per person who has exported.
CREATE TABLE export_throttles (
    user_id    bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    busy_until timestamptz NOT NULL
);

-- +goose Down
DROP TABLE export_throttles;
