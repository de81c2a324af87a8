-- Dawr hub schema, version 16: find the visits that opened a real CRM case (left open as a
-- follow-up or referral, or rated 1 or 2) without reading the whole event log, so a report counts
-- the cases carried over from before its range (reports::facts::CHOSEN_BACKLOG uses this test
-- word for word).
CREATE INDEX events_real_cases ON events (visit_id)
    WHERE (kind = 'completed' AND json_extract(payload, '$.outcome') IN ('follow_up', 'referred'))
       OR (kind = 'rated' AND json_extract(payload, '$.score') <= 2);
