-- Dawr hub schema, version 5: a rating's reason may follow its score (see domain/queue.rs,
-- `Queue::add_rating_reason`). While the counter's last rating waits for its reason, these hold
-- its score and when it was given; both are NULL once a reason is given (or none may follow).
ALTER TABLE counters ADD COLUMN last_open_score INTEGER;
ALTER TABLE counters ADD COLUMN last_rated_at TEXT;

-- The second rating (of how a case left open was resolved) may take its reason afterwards too.
ALTER TABLE case_notes ADD COLUMN resolution_reason TEXT;
