-- Dawr hub schema, version 3: what staff write on a visit's CRM case.
-- A case's steps, outcome, rating and escalation come from the event log (see cases.rs); this
-- table holds only what people type: a category, notes, and closing a case left open.
CREATE TABLE case_notes (
    case_ref   TEXT PRIMARY KEY,
    category   TEXT,
    visitor    TEXT,               -- the visitor's national ID / iqama or mobile, when given

    notes      TEXT NOT NULL DEFAULT '',
    closed_at  TEXT,               -- a follow-up case closed by staff
    closed_by  TEXT,
    resolution_rating   INTEGER,   -- the visitor's second rating, of how the open case was resolved
    resolution_rated_at TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX case_notes_visitor ON case_notes (visitor) WHERE visitor IS NOT NULL;
