-- +goose Up

-- A flagged emergency bars its responder from breaking glass again until an
-- admin clears the flag, with a comment: who cleared it, when and why.
ALTER TABLE break_glass
    ADD COLUMN flag_cleared_at      timestamptz,
    ADD COLUMN flag_cleared_by      bigint REFERENCES users (id),
    ADD COLUMN flag_cleared_comment text,
    ADD CONSTRAINT break_glass_flag_cleared_whole CHECK (
        (flag_cleared_at IS NULL AND flag_cleared_by IS NULL AND flag_cleared_comment IS NULL)
        OR (flag_cleared_at IS NOT NULL AND flag_cleared_by IS NOT NULL AND btrim(flag_cleared_comment) <> ''));

-- +goose Down
ALTER TABLE break_glass
    DROP CONSTRAINT break_glass_flag_cleared_whole,
    DROP COLUMN flag_cleared_comment,
    DROP COLUMN flag_cleared_by,
    DROP COLUMN flag_cleared_at;
