-- +goose Up

-- A drill whose request is cancelled before it starts (pending, or
-- approved and waiting for its time or its change window) ends as
-- cancelled: nothing of it was sent, and its history says so rather than
-- showing it as waiting for ever.
ALTER TABLE drills DROP CONSTRAINT drills_outcome_check;
ALTER TABLE drills ADD CONSTRAINT drills_outcome_check CHECK (outcome IN ('', 'succeeded', 'failed', 'cancelled'));

-- +goose Down
-- The old check knows no cancelled drill: those become failed, their
-- detail ("Cancelled by ...") kept.
UPDATE drills SET outcome = 'failed' WHERE outcome = 'cancelled';
ALTER TABLE drills DROP CONSTRAINT drills_outcome_check;
ALTER TABLE drills ADD CONSTRAINT drills_outcome_check CHECK (outcome IN ('', 'succeeded', 'failed'));
